/**
 * selfassign/testing takes the independent reader (`inspect`) in every shape an adapter naturally
 * has: a list or `{ conversations }`, returned directly or as a promise (the in-memory adapter's
 * `inspect` is synchronous and returns `{ conversations }`). Anything else fails loudly.
 */
import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "../src/memory.js";
import { conformanceChecks, createWorlds, type InspectedConversation, toInspector } from "../src/testing.js";

const rows: InspectedConversation[] = [{ id: "c:0", contactId: "a", holder: null, status: "not_started" }];

describe("testing kit: inspect in any shape", () => {
  it.each([
    ["a list", () => rows],
    ["{ conversations }", () => ({ conversations: rows })],
    ["a promise of a list", async () => rows],
    ["a promise of { conversations }", async () => ({ conversations: rows })],
  ])("toInspector accepts %s", async (_, read) => {
    expect(await toInspector(read)("c")).toEqual(rows);
  });

  it("toInspector rejects anything else with a TypeError naming what came back", async () => {
    const bad = toInspector((() => ({ rows })) as unknown as () => InspectedConversation[]);
    await expect(bad("c")).rejects.toThrow(/must give the campaign's conversations.*an object with keys \["rows"\]/);
    await expect(toInspector((() => undefined) as unknown as () => InspectedConversation[])("c")).rejects.toThrow(TypeError);
  });

  it("a fixture whose inspect is the memory adapter's synchronous one plugs into conformanceChecks and createWorlds as it is", async () => {
    let closed = 0;
    const checks = await conformanceChecks({
      fixture: () => {
        const storage = createMemoryStorage();
        return { storage, inspect: (campaignId: string) => storage.inspect(campaignId), close: () => void closed++ };
      },
      numRuns: { model: 3, races: 3 },
      groups: { races: false, atomicity: false, rosters: false, bulk: false, time: false },
    });
    expect(closed).toBe(1); // the fixture opened to read the capabilities is closed again
    expect(new Set(checks.map((c) => c.group))).toEqual(new Set(["methods", "model"]));
    for (const check of checks) await check.run();
    expect(closed).toBe(1 + checks.length); // one fixture per check, each closed
    const storage = createMemoryStorage();
    const { real } = await createWorlds({ storage, inspect: (campaignId) => storage.inspect(campaignId) });
    expect(await real.inspect(real.campaignIds[0]!)).toEqual([]);
  });

  it("a fixture whose inspect gives something else fails the check that reads it, naming what came back", async () => {
    const [check] = await conformanceChecks({
      fixture: () => {
        const storage = createMemoryStorage();
        return { storage, inspect: () => ({ rows: [] }) as never };
      },
      groups: { methods: false, races: false, rosters: false, bulk: false, time: false, atomicity: false },
      numRuns: { model: 1 },
    });
    const error: unknown = await check!.run().then(
      () => new Error("the check passed"),
      (e: unknown) => e,
    );
    const messages: string[] = [];
    for (let e = error; e instanceof Error; e = e.cause) messages.push(e.message); // fast-check keeps the failure as the cause
    expect(messages.join("\n")).toMatch(/an object with keys \["rows"\]/);
  });
});

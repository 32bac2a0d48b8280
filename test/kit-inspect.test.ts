/**
 * selfassign/testing takes the independent reader (`inspect`) in every shape an adapter naturally
 * has: a list or `{ conversations }`, returned directly or as a promise (the in-memory adapter's
 * `inspect` is synchronous and returns `{ conversations }`). Anything else fails loudly.
 */
import { describe, expect, it } from "vitest";
import { createMemoryStorage, type MemoryStorage } from "../src/memory.js";
import { conformanceChecks, createWorlds, type InspectedConversation } from "../src/testing.js";
import { toInspector } from "../src/testing/world.js";

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

  it("the memory adapter's synchronous inspect plugs into conformanceChecks and createWorlds as it is", async () => {
    const checks = conformanceChecks({
      createStorage: () => createMemoryStorage(),
      inspect: (storage, campaignId) => storage.inspect(campaignId),
      numRuns: { model: 3, races: 3 },
      groups: { races: false, bulk: false, time: false },
    });
    for (const check of checks) await check.run();
    const storage: MemoryStorage = createMemoryStorage();
    const { real } = await createWorlds({ storage: () => storage, inspect: (s) => (campaignId) => s.inspect(campaignId) });
    expect(await real.inspect(real.campaignIds[0]!)).toEqual([]);
  });
});

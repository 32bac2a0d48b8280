/**
 * The conformance suite has teeth: the minimal array adapter passes every core check, and each
 * deliberately broken adapter fails the check written for its defect.
 */
import { describe, expect, it } from "vitest";
import { type ConformanceCheck, type ConformanceGroup, conformanceChecks } from "../src/testing.js";
import { numRuns } from "./numruns.js";
import { ArrayAdapter } from "./support/array-adapter.js";
import { GateOutsideTheStep, IgnoresRank, LosesOnFailure, NonAtomicClaim, RewritesRoster, StarvesAdmins } from "./support/broken-adapters.js";

const runs = { model: numRuns(150), races: numRuns(60) };

function checksOf(make: () => ArrayAdapter, groups?: readonly ConformanceGroup[]): Promise<ConformanceCheck[]> {
  const all: ConformanceGroup[] = ["methods", "model", "races", "atomicity", "rosters", "bulk", "time"];
  return conformanceChecks({
    fixture: () => {
      const storage = make();
      return { storage, inspect: (campaignId: string) => storage.inspect(campaignId) };
    },
    numRuns: runs,
    rosters: { adminWaitMs: 2000 },
    ...(groups === undefined ? {} : { groups: Object.fromEntries(all.map((g) => [g, groups.includes(g)])) }),
  });
}

/** Run the checks; the names of those that failed. */
async function failing(checks: readonly ConformanceCheck[]): Promise<string[]> {
  const failed: string[] = [];
  for (const check of checks) {
    try {
      await check.run();
    } catch {
      failed.push(check.name);
    }
  }
  return failed;
}

describe("the conformance suite has teeth", () => {
  it("the minimal array adapter (12 methods, no capabilities) passes every check that applies: the core groups and T3", async () => {
    const checks = await checksOf(() => new ArrayAdapter());
    expect(new Set(checks.map((c) => c.group))).toEqual(new Set(["methods", "model", "races", "atomicity", "rosters", "time"]));
    expect(checks.filter((c) => c.requires !== null)).toEqual([]); // no capability declared, no capability check run
    expect(await failing(checks)).toEqual([]);
  }, 600_000);

  it("I1: it fails an adapter whose claim is not atomic (read, wait, write) — also as a claim committing after a pause", async () => {
    const failed = await failing(await checksOf(() => new NonAtomicClaim(), ["races", "rosters"]));
    expect(failed).toContain("I1, I3: many texters requesting at once never share a conversation");
    expect(failed.some((name) => name.includes("no claim commits after it"))).toBe(true);
  }, 300_000);

  it("S4, I4: it fails an adapter that ignores the hand-out rank, method by method and in the model", async () => {
    const failed = await failing(await checksOf(() => new IgnoresRank(), ["methods", "model"]));
    expect(failed).toContain("claim: best first (S4), a used key replays (S8), a claim of nothing writes nothing");
    expect(failed.some((name) => name.startsWith("I1–I8"))).toBe(true);
  }, 300_000);

  it("I8: it fails an adapter that keeps part of a write that failed", async () => {
    const failed = await failing(await checksOf(() => new LosesOnFailure(), ["atomicity", "methods"]));
    expect(failed.some((name) => name.startsWith("I8:"))).toBe(true);
    expect(failed).toContain("updateConversations: atomic release is all or nothing; heldBy conditions (S9)");
  }, 300_000);

  it("S5, I5: it fails an adapter whose gate is checked outside the atomic step", async () => {
    const failed = await failing(await checksOf(() => new GateOutsideTheStep(), ["races"]));
    expect(failed).toContain("S5, I5: one texter double-clicking passes the gate at most once");
  }, 300_000);

  it("sets are rows: it fails an adapter that rewrites the roster under a version check (joins conflict under a rush)", async () => {
    const checks = await checksOf(() => new RewritesRoster());
    const failed = await failing(checks.filter((c) => c.group === "rosters"));
    expect(failed.filter((name) => name.includes("join"))).toHaveLength(2); // the join rush, and bulk adds racing joins
    // It is otherwise correct: one join or add at a time passes.
    expect(await failing(checks.filter((c) => c.group === "methods"))).toEqual([]);
  }, 300_000);

  it("fair locks: it fails an adapter whose reader-preferring lock starves an admin's pause while claims keep coming", async () => {
    const failed = await failing(await checksOf(() => new StarvesAdmins(), ["rosters"]));
    expect(failed).toEqual([expect.stringContaining("pauseCampaign completes within 2000 ms")]);
  }, 300_000);
});

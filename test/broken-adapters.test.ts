/**
 * The conformance suite has teeth: a correct plain adapter passes it, and each deliberately broken
 * adapter fails it.
 */
import { describe, expect, it } from "vitest";
import { type ConformanceCheck, conformanceChecks } from "../src/testing.js";
import { ArrayAdapter } from "./support/array-adapter.js";
import { GateOutsideTheStep, IgnoresRank, LosesOnFailure, NonAtomicClaim } from "./support/broken-adapters.js";

function checksFor(make: () => ArrayAdapter, runs = { model: 150, races: 60 }): ConformanceCheck[] {
  return conformanceChecks({
    createStorage: () => make(),
    inspect: async (storage, campaignId) => (storage as ArrayAdapter).inspect(campaignId),
    numRuns: runs,
  });
}

/** Run the checks; return the names of those that failed. */
async function failing(checks: ConformanceCheck[]): Promise<string[]> {
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
  it("a correct plain adapter passes every check (control)", async () => {
    expect(await failing(checksFor(() => new ArrayAdapter()))).toEqual([]);
  }, 300_000);

  it("I1: it fails an adapter whose claim is not atomic (read, yield, write)", async () => {
    const failed = await failing(checksFor(() => new NonAtomicClaim()).filter((c) => c.group === "races"));
    expect(failed).toContain("I1, I3: many texters requesting at once never share a conversation");
  }, 300_000);

  it("S4, I4: it fails an adapter that ignores the hand-out rank", async () => {
    const failed = await failing(checksFor(() => new IgnoresRank()).filter((c) => c.group === "model"));
    expect(failed.length).toBeGreaterThan(0);
  }, 300_000);

  it("I8: it fails an adapter that loses a change when a later step fails", async () => {
    const failed = await failing(checksFor(() => new LosesOnFailure()).filter((c) => c.group === "atomicity"));
    expect(failed).toHaveLength(1);
  }, 300_000);

  it("S5, I5: it fails an adapter whose gate is checked outside the atomic step", async () => {
    const failed = await failing(checksFor(() => new GateOutsideTheStep()).filter((c) => c.group === "races"));
    expect(failed).toContain("S5, I5: one texter double-clicking passes the gate at most once");
  }, 300_000);
});

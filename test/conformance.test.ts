/**
 * The exported conformance suite (selfassign/testing), run against the project's own adapters — the
 * same checks an adapter author runs against theirs. Each adapter runs the groups its declared
 * capabilities select; run counts scale with how fast the adapter is (`runs` in support/adapters.ts).
 */
import { describe, it } from "vitest";
import { conformanceChecks } from "../src/testing.js";
import { numRuns } from "./numruns.js";
import { adapters } from "./support/adapters.js";

for (const { name, open, runs } of adapters) {
  const checks = await conformanceChecks({
    fixture: open,
    numRuns: { model: numRuns(Math.ceil(1500 * runs)), races: numRuns(Math.ceil(500 * Math.max(runs, 0.06))) },
  });
  describe(`conformance suite on ${name} storage`, () => {
    for (const check of checks) it(`${check.group}: ${check.name}`, check.run, 300_000);
  });
}

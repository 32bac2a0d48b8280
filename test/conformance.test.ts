/**
 * The exported conformance suite (selfassign/testing), run against the project's own adapters — the
 * same checks an adapter author runs against theirs.
 */
import { describe, it } from "vitest";
import { conformanceChecks } from "../src/testing.js";
import { numRuns } from "./numruns.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

describe.each(adapters)("conformance suite on $name storage", ({ open, runs }) => {
  const fixtures = new Map<object, AdapterFixture>();
  const checks = conformanceChecks({
    createStorage: async () => {
      const fixture = await open();
      fixtures.set(fixture.storage, fixture);
      return fixture.storage;
    },
    inspect: (storage, campaignId) => fixtures.get(storage)!.inspect(campaignId),
    close: async (storage) => {
      await fixtures.get(storage)?.close();
      fixtures.delete(storage);
    },
    numRuns: { model: numRuns(Math.ceil(1500 * runs)), races: numRuns(Math.ceil(500 * Math.max(runs, 0.06))) },
  });
  for (const check of checks) it(check.name, check.run, 300_000);
});

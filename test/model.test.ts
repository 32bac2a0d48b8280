import * as fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { operationSequence } from "../src/testing/arbitraries.js";
import { warmUp } from "../src/testing/warm-up.js";
import { createWorlds } from "../src/testing/world.js";
import { numRuns } from "./numruns.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

describe.each(adapters)("model-based on $name: every operation against the reference model (I1–I8)", ({ open, runs }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const worlds = () => createWorlds({ storage: () => fixture.storage, inspect: () => fixture.inspect });

  it("I1–I8: random sequences from a launched campaign agree with the model after every step", async () => {
    await fc.assert(
      fc.asyncProperty(operationSequence({ maxCommands: 60 }), async (commands) => {
        const { model, real } = await worlds();
        await fc.asyncModelRun(() => ({ model, real }), [...warmUp(), ...commands]);
      }),
      { numRuns: numRuns(Math.ceil(1500 * runs)) },
    );
  });

  it("I1–I8: random sequences from empty draft campaigns agree with the model", async () => {
    await fc.assert(
      fc.asyncProperty(operationSequence({ maxCommands: 80 }), async (commands) => {
        const { model, real } = await worlds();
        await fc.asyncModelRun(() => ({ model, real }), commands);
      }),
      { numRuns: numRuns(Math.ceil(1000 * runs)) },
    );
  });
});

import * as fc from "fast-check";
import { describe, it } from "vitest";
import { createMemoryStorage, type MemoryStorage } from "../src/memory.js";
import { operationSequence } from "../src/testing/arbitraries.js";
import { warmUp } from "../src/testing/warm-up.js";
import { createWorlds } from "../src/testing/world.js";
import { numRuns } from "./numruns.js";

const worlds = () =>
  createWorlds({
    storage: () => createMemoryStorage(),
    inspect: (s) => async (campaignId) => (s as MemoryStorage).inspect(campaignId).conversations,
  });

describe("model-based: every operation against the reference model (I1–I8)", () => {
  it("I1–I8: random sequences from a launched campaign agree with the model after every step", async () => {
    await fc.assert(
      fc.asyncProperty(operationSequence({ maxCommands: 60 }), async (commands) => {
        const { model, real } = await worlds();
        await fc.asyncModelRun(() => ({ model, real }), [...warmUp(), ...commands]);
      }),
      { numRuns: numRuns(1500) },
    );
  });

  it("I1–I8: random sequences from empty draft campaigns agree with the model", async () => {
    await fc.assert(
      fc.asyncProperty(operationSequence({ maxCommands: 80 }), async (commands) => {
        const { model, real } = await worlds();
        await fc.asyncModelRun(() => ({ model, real }), commands);
      }),
      { numRuns: numRuns(1000) },
    );
  });
});

/**
 * The periodic stale release (T4): run `releaseStale` for some campaigns on a timer, one run at a
 * time, until stopped.
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { StaleReleaseResult } from "./results.js";
import * as s from "./schema.js";

/** A running periodic stale release; see {@link startStaleRelease}. Stop it with `await job.stop()` or `await using`. */
export interface StaleReleaseJob {
  /** Stop it: no new run starts; resolves when a run in progress has finished. */
  stop(): Promise<void>;
  /** The same as {@link StaleReleaseJob.stop}, for `await using job = startStaleRelease(…)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startStaleRelease}. */
export interface StaleReleaseJobOptions {
  /** The campaigns, or a function giving them before each run. */
  readonly campaignIds: readonly string[] | (() => Promise<readonly string[]>);
  /** How often, ms: 1,000 to 2^31 − 1 (the longest timer Node keeps). */
  readonly everyMs: number;
  /** Told what each run released, per campaign (only when something was). */
  readonly onReleased?: (campaignId: string, result: StaleReleaseResult) => void;
  /** Told of a failed run (the next run happens as planned). Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** Stops the job when it aborts. */
  readonly signal?: AbortSignal;
}

const Options = s.object({
  campaignIds: s.either(s.fn<() => Promise<readonly string[]>>(), s.list(s.text, { min: 0, max: 100_000 })),
  everyMs: s.int(1000, 2 ** 31 - 1),
  onReleased: s.optional(s.fn<(campaignId: string, result: StaleReleaseResult) => void>()),
  onError: s.optional(s.fn<(error: unknown) => void>()),
  signal: s.optional(s.signal),
});

/**
 * Run a release function for the given campaigns every `everyMs` until stopped. Runs never overlap;
 * the timer does not keep the process alive.
 */
export function startJob(release: (campaignId: string) => Promise<StaleReleaseResult>, options: unknown): StaleReleaseJob {
  if (typeof release !== "function") throw new AssignmentError("INVALID_INPUT", '"engine" must be an Engine.', { details: { field: "engine" } });
  const o = Options(options, "options");
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = async () => {
    try {
      const ids = typeof o.campaignIds === "function" ? await o.campaignIds() : o.campaignIds;
      for (const campaignId of ids) {
        if (stopped) break;
        const result = await release(campaignId);
        if (result.released > 0) o.onReleased?.(campaignId, result);
      }
    } catch (error) {
      o.onError?.(error);
    }
  };
  const tick = () => {
    if (running !== null || stopped) return;
    running = run().finally(() => (running = null));
  };
  const timer = setInterval(tick, o.everyMs);
  timer.unref?.();
  const stop = async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
  o.signal?.addEventListener("abort", () => void stop(), { once: true });
  return { stop, [Symbol.asyncDispose]: stop };
}

/**
 * The conformance suite, runner-agnostic: {@link conformanceChecks} returns named checks, each an
 * async function that throws on failure, so any runner can register them:
 *
 * ```ts
 * for (const check of conformanceChecks(options)) it(check.name, check.run, 120_000);
 * ```
 * @module
 */
import * as fc from "fast-check";
import type { StorageAdapter } from "../storage/contract.js";
import { operationSequence } from "./arbitraries.js";
import { checkAtomicity } from "./atomicity.js";
import { checkBulkSend } from "./bulk-send.js";
import { checkContactZones, checkStaleRelease, checkStartAndEnd } from "./time-rules.js";
import * as races from "./races.js";
import { warmUp } from "./warm-up.js";
import { type InspectedConversation, type Inspector, createWorlds, toInspector } from "./world.js";

/** Groups of checks; each can be switched off for an adapter that lacks the capability. */
export type ConformanceGroup = "model" | "races" | "atomicity" | "bulk" | "time";

/**
 * How to build, read and clean the adapter under test.
 * @typeParam S - your storage's type (inferred from `createStorage`), so `inspect`, `reset` and
 * `close` can use its own methods — e.g. the in-memory adapter's `inspect`.
 */
export interface ConformanceOptions<S extends StorageAdapter = StorageAdapter> {
  /** A storage to test. Called once per check; every check uses fresh, unique ids. */
  createStorage(): S | Promise<S>;
  /**
   * Independent reader of what the storage persisted for a campaign: every conversation with its
   * contact, holder and status — read from the database or files directly, not through the adapter's
   * query methods, so the suite checks storage and not the adapter's word for it.
   *
   * Return the list, or an object with a `conversations` list, directly or as a promise: a SQL query
   * (`async … => rows`) and the in-memory adapter's synchronous `storage.inspect(campaignId)` (which
   * gives `{ conversations }`) both fit as they are.
   */
  inspect(
    storage: S,
    campaignId: string,
  ):
    | readonly InspectedConversation[]
    | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }
    | Promise<readonly InspectedConversation[] | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }>;
  /** Called before each check with the fresh storage (truncate tables, …). Optional; may be synchronous. */
  reset?(storage: S): void | Promise<void>;
  /** Called after each check (close connections, delete files, …). Optional; may be synchronous. */
  close?(storage: S): void | Promise<void>;
  /** Property runs per check; defaults: model 200, races 100. */
  readonly numRuns?: {
    /** Runs of each model-based check. */
    readonly model?: number;
    /** Runs of each race check. */
    readonly races?: number;
  };
  /**
   * Groups to run; all by default. Switch `races` off only for an adapter that cannot be called
   * concurrently, and `atomicity` off only while developing (an adapter that fails it loses data).
   */
  readonly groups?: Partial<Record<ConformanceGroup, boolean>>;
}

/** One named check. `run` resolves when it passes and rejects with the counterexample when it fails. */
export interface ConformanceCheck {
  /** Name, starting with the rules it checks. */
  readonly name: string;
  /** Its group. */
  readonly group: ConformanceGroup;
  /** Run it. */
  run(): Promise<void>;
}

/** The conformance checks for an adapter; see {@link ConformanceOptions}. */
export function conformanceChecks<S extends StorageAdapter>(options: ConformanceOptions<S>): ConformanceCheck[] {
  const groups = { model: true, races: true, atomicity: true, bulk: true, time: true, ...options.groups };
  const modelRuns = options.numRuns?.model ?? 200;
  const raceRuns = options.numRuns?.races ?? 100;
  const withStorage =
    (body: (storage: StorageAdapter, inspect: Inspector) => Promise<void>) =>
    async () => {
      const storage = await options.createStorage();
      try {
        await options.reset?.(storage);
        await body(storage, toInspector((campaignId) => options.inspect(storage, campaignId)));
      } finally {
        await options.close?.(storage);
      }
    };
  const checks: ConformanceCheck[] = [];
  if (groups.model) {
    const modelRun = (fromLaunched: boolean, maxCommands: number) =>
      withStorage(async (storage, inspect) => {
        await fc.assert(
          fc.asyncProperty(operationSequence({ maxCommands }), async (commands) => {
            const { model, real } = await createWorlds({ storage: () => storage, inspect: () => inspect });
            await fc.asyncModelRun(() => ({ model, real }), fromLaunched ? [...warmUp(), ...commands] : commands);
          }),
          { numRuns: modelRuns },
        );
      });
    checks.push(
      {
        name: "I1–I8: random operation sequences from a launched campaign agree with the reference model after every step",
        group: "model",
        run: modelRun(true, 60),
      },
      {
        name: "I1–I8: random operation sequences from empty draft campaigns agree with the reference model",
        group: "model",
        run: modelRun(false, 80),
      },
    );
  }
  if (groups.races) {
    const race = (name: string, fn: (t: races.RaceTarget) => Promise<void>): ConformanceCheck => ({
      name,
      group: "races",
      run: withStorage((storage, inspect) => fn({ storage, inspect, numRuns: raceRuns })),
    });
    checks.push(
      race("I1, I3: many texters requesting at once never share a conversation", races.raceManyTexters),
      race("S5, I5: one texter double-clicking passes the gate at most once", races.raceDoubleClickGate),
      race("S7, I3: simultaneous requests never take a texter over the cap", races.raceCap),
      race("S8: a triple click with one idempotency key assigns one batch", races.raceIdempotency),
      race("L3, I7: one member joining twice at once gets one first batch", races.raceInviteJoins),
      race("I1, I2: admin moves, releases and status changes interleaved with requests and joins", races.raceAdminMoves),
    );
  }
  if (groups.bulk) {
    checks.push({
      name: "C6: concurrent bulk-send workers and a crashed one acknowledge every initial message exactly once",
      group: "bulk",
      run: withStorage((storage, inspect) => checkBulkSend({ storage, inspect, numRuns: raceRuns })),
    });
  }
  if (groups.time) {
    checks.push(
      { name: "T2: not-started work outside a contact's texting hours waits; the rest is handed out", group: "time", run: withStorage((storage) => checkContactZones(storage)) },
      { name: "T3: nothing not-started before the start or after the end", group: "time", run: withStorage((storage) => checkStartAndEnd(storage)) },
      {
        name: "T4: stale release by texting time, atomic even racing a reply and a request",
        group: "time",
        run: withStorage((storage, inspect) => checkStaleRelease(storage, inspect, Math.max(10, Math.ceil(raceRuns / 3)))),
      },
    );
  }
  if (groups.atomicity) {
    checks.push({
      name: "I8: a write that fails at its last step changes nothing (import, launch, claim, status, release, opt-out)",
      group: "atomicity",
      run: withStorage((storage, inspect) => checkAtomicity(storage, inspect)),
    });
  }
  return checks;
}

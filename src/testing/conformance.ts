/**
 * The conformance suite, runner-agnostic: {@link conformanceChecks} opens your fixture once to read
 * the storage's declared capabilities and returns the named checks that apply, each an async function
 * that throws on failure, so any runner can register them:
 *
 * ```ts
 * const checks = await conformanceChecks({ fixture: async () => ({ storage, inspect, close }) });
 * for (const check of checks) it(check.name, check.run, 300_000);
 * ```
 * @module
 */
import * as fc from "fast-check";
import type { Capabilities } from "../storage/capabilities.js";
import type { DerivableStorage } from "../storage/contract.js";
import { operationSequence } from "./arbitraries.js";
import { checkAtomicity } from "./atomicity.js";
import { checkBulkSend } from "./bulk-send.js";
import { type ConformanceFixture, type Target, withFixture } from "./fixture.js";
import { aggregateChecks } from "./methods/aggregates.js";
import { optionalChecks } from "./methods/optional.js";
import { poolChecks } from "./methods/pool.js";
import * as races from "./races.js";
import { type RosterOptions, checkAdminFairness, checkBulkRosters, checkJoinRush } from "./rosters.js";
import { checkContactZones, checkStaleRelease, checkStartAndEnd } from "./time-rules.js";
import { warmUp } from "./warm-up.js";
import { createWorlds } from "./world.js";

/**
 * Groups of checks. The core groups run on every adapter: `methods` (one method at a time),
 * `model`, `races`, `atomicity`, `rosters`. `bulk` runs when the storage declares the `bulkSend`
 * capability; `time` has a core check (T3) and one per capability (T2: `contactZones`, T4:
 * `staleRelease`).
 */
export type ConformanceGroup = "methods" | "model" | "races" | "atomicity" | "rosters" | "bulk" | "time";

/** How to get the adapter under test, and how hard to test it. */
export interface ConformanceOptions {
  /**
   * A fresh fixture: the storage, its independent reader, and clean-up. Called once to read
   * `storage.capabilities`, then once per check (closed after each). Checks use unique ids, so the
   * fixtures may share one database.
   */
  fixture(): ConformanceFixture | Promise<ConformanceFixture>;
  /** Property runs per check; defaults: model 200, races 100 (bulk send and T4 scale with `races`). */
  readonly numRuns?: {
    /** Runs of each model-based check. */
    readonly model?: number;
    /** Runs of each race check. */
    readonly races?: number;
  };
  /** Sizes of the roster checks (default: 60 members in the join rush, 5,000 ms for an admin's pause). */
  readonly rosters?: RosterOptions;
  /**
   * Groups to run; all that apply by default. Switch a group off only while you work on it: an adapter
   * that fails `atomicity` loses data, one that fails `rosters` breaks down under a volunteer rush.
   */
  readonly groups?: Partial<Record<ConformanceGroup, boolean>>;
}

/** One named check. `run` resolves when it passes and rejects with the counterexample when it fails. */
export interface ConformanceCheck {
  /** Name: the method or the rules it checks, then what. */
  readonly name: string;
  /** Its group. */
  readonly group: ConformanceGroup;
  /** The capability it needs, the optional method it checks (run when the adapter has it), or `null` for a core check. */
  readonly requires: Requirement;
  /** Run it (on a fresh fixture). */
  run(): Promise<void>;
}

/** What a check needs: a capability flag, an optional (derivable) method, or nothing. */
export type Requirement = keyof Capabilities | keyof DerivableStorage | null;

/** A check before it is bound to the fixture. */
interface Planned {
  readonly name: string;
  readonly group: ConformanceGroup;
  readonly requires: Requirement;
  readonly body: (target: Target) => Promise<void>;
}

function plan(options: ConformanceOptions): Planned[] {
  const modelRuns = options.numRuns?.model ?? 200;
  const raceRuns = options.numRuns?.races ?? 100;
  const rushSize = options.rosters?.members ?? 60;
  const adminWaitMs = options.rosters?.adminWaitMs ?? 5000;
  const core = (group: ConformanceGroup, name: string, body: Planned["body"]): Planned => ({ name, group, requires: null, body });
  const modelRun = (fromLaunched: boolean, maxCommands: number) => async (t: Target) => {
    await fc.assert(
      fc.asyncProperty(operationSequence({ maxCommands }), async (commands) => {
        const { model, real } = await createWorlds({ storage: t.storage, inspect: t.inspect });
        await fc.asyncModelRun(() => ({ model, real }), fromLaunched ? [...warmUp(), ...commands] : commands);
      }),
      { numRuns: modelRuns },
    );
  };
  const race = (name: string, fn: (target: races.RaceTarget) => Promise<void>) => core("races", name, (t) => fn({ ...t, numRuns: raceRuns }));
  return [
    ...[...aggregateChecks, ...poolChecks].map((m) => core("methods", m.name, m.run)),
    ...optionalChecks.map((m): Planned => ({ name: m.name, group: "methods", requires: m.requires, body: m.run })),
    core("model", "I1–I8: random operation sequences from a launched campaign agree with the reference model after every step", modelRun(true, 60)),
    core("model", "I1–I8: random operation sequences from empty draft campaigns agree with the reference model", modelRun(false, 80)),
    race("I1, I3: many texters requesting at once never share a conversation", races.raceManyTexters),
    race("S5, I5: one texter double-clicking passes the gate at most once", races.raceDoubleClickGate),
    race("S7, I3: simultaneous requests never take a texter over the cap", races.raceCap),
    race("S8: a triple click with one idempotency key assigns one batch", races.raceIdempotency),
    race("L3, I7: one member joining twice at once gets one first batch", races.raceInviteJoins),
    race("I1, I2: admin moves, releases and status changes interleaved with requests and joins", races.raceAdminMoves),
    core("atomicity", "I8: a write that fails part-way changes nothing (members, import, senders, launch, unassign, claim, join, status, release, removal, opt-out)", checkAtomicity),
    core("rosters", `L3, sets are rows: ${rushSize} members join by invite at once — no error, ${rushSize} distinct first batches, no conflict`, (t) => checkJoinRush(t, rushSize)),
    core("rosters", `O1, C3, sets are rows: addMembers and addSenders in bulk, racing ${rushSize} invite joins, never conflict`, (t) => checkBulkRosters(t, rushSize)),
    core("rosters", `C7, fair locks: pauseCampaign completes within ${adminWaitMs} ms while texters keep requesting, and no claim commits after it`, (t) => checkAdminFairness(t, adminWaitMs)),
    {
      name: "C6: concurrent bulk-send workers and a crashed one acknowledge every initial message exactly once",
      group: "bulk",
      requires: "bulkSend",
      body: (t) => checkBulkSend({ ...t, numRuns: raceRuns }),
    },
    core("time", "T3: nothing not-started before the start or after the end", (t) => checkStartAndEnd(t.storage)),
    {
      name: "T2: not-started work outside a contact's texting hours waits; the rest is handed out",
      group: "time",
      requires: "contactZones",
      body: (t) => checkContactZones(t.storage),
    },
    {
      name: "T4: stale release by texting time, atomic even racing a reply and a request",
      group: "time",
      requires: "staleRelease",
      body: (t) => checkStaleRelease(t.storage, t.inspect, Math.max(10, Math.ceil(raceRuns / 3))),
    },
  ];
}

/** The optional methods the engine derives when an adapter leaves them out (checked when present); keyed so none is forgotten. */
const DERIVABLE_METHODS: { readonly [K in keyof DerivableStorage]-?: true } = { getContext: true, countConversations: true, factHead: true, onFacts: true };
const DERIVABLE = Object.keys(DERIVABLE_METHODS) as (keyof DerivableStorage)[];

/**
 * The conformance checks that apply to your adapter: the core groups, and the capability checks its
 * `storage.capabilities` declares — an adapter is never failed for a capability it does not claim.
 * Opens one fixture to read the capabilities (and closes it).
 */
export async function conformanceChecks(options: ConformanceOptions): Promise<ConformanceCheck[]> {
  const has = await withFixture(options.fixture, async ({ storage }) => {
    const declared: Record<string, unknown> = { ...storage.capabilities };
    const methods = new Set(DERIVABLE.filter((m) => typeof storage[m] === "function"));
    return (r: Exclude<Requirement, null>) => declared[r] === true || methods.has(r as keyof DerivableStorage);
  });
  const groups: Record<ConformanceGroup, boolean> = { methods: true, model: true, races: true, atomicity: true, rosters: true, bulk: true, time: true, ...options.groups };
  return plan(options)
    .filter((c) => groups[c.group] && (c.requires === null || has(c.requires)))
    .map((c) => ({ name: c.name, group: c.group, requires: c.requires, run: () => withFixture(options.fixture, c.body) }));
}

/**
 * The two worlds a model-based run keeps side by side: the reference model and the real engine on
 * a storage adapter, plus the checks that compare them after every step (I1–I8, A1).
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Engine } from "../engine/engine.js";
import { AssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { Role } from "../types.js";
import { applyEvent } from "./event-replay.js";
import { type InspectResult, type Inspector, toInspector } from "./fixture.js";
import { ReferenceModel } from "./model.js";
import type { Expected } from "./model-types.js";

export type { InspectedConversation, Inspector } from "./fixture.js";
export { toInspector } from "./fixture.js";

/** The model side. */
export interface ModelWorld {
  /** The reference model. */
  readonly model: ReferenceModel;
  /** Campaign ids, shared with the real side. */
  readonly campaignIds: readonly string[];
}

/** The real side. */
export interface RealWorld {
  /** The engine under test. */
  readonly engine: Engine;
  /** Independent reader of persisted state. */
  readonly inspect: Inspector;
  /** Campaign ids. */
  readonly campaignIds: readonly string[];
  /** The organization. */
  readonly orgId: string;
  /** The test clock (epoch ms); every command advances it by one millisecond. */
  now: number;
  /** Position of the last event read (events are checked incrementally, for I8). */
  eventCursor: number;
  /** Holders per campaign as the events so far describe them (replayed incrementally). */
  readonly replayed: Map<string, Map<string, string | null>>;
  /** The storage under test. */
  readonly storage: StorageAdapter;
}

/**
 * The people of a world: an owner, an admin, four texters, a stranger who is not a member and a
 * newcomer who is not one until a command adds them. Two texters, the stranger and the newcomer are
 * named like `Object.prototype` properties, so storage that keys plain objects by user id fails the
 * model (identifiers and strings, SPEC).
 */
export const WORLD_USERS: {
  /** The organization's owner. */
  readonly owner: "owner";
  /** An admin. */
  readonly admin: "boss";
  /** Texters (members). */
  readonly texters: readonly ["t1", "t2", "__proto__", "constructor"];
  /** Not a member. */
  readonly stranger: "toString";
  /** Not a member until `addMembers` adds them. */
  readonly newcomer: "valueOf";
} = {
  owner: "owner",
  admin: "boss",
  texters: ["t1", "t2", "__proto__", "constructor"],
  stranger: "toString",
  newcomer: "valueOf",
};

/** Everybody who may act in a generated command, the stranger and the newcomer included. */
export const ACTORS: readonly string[] = [
  WORLD_USERS.owner,
  WORLD_USERS.admin,
  ...WORLD_USERS.texters,
  WORLD_USERS.stranger,
  WORLD_USERS.newcomer,
];

/** Both sides of a model-based run. */
export interface Worlds {
  /** The model side. */
  readonly model: ModelWorld;
  /** The real side. */
  readonly real: RealWorld;
}

/** Where the previous world on the same storage stopped reading events (worlds may share a storage). */
const cursors = new WeakMap<StorageAdapter, number>();

/** Options of {@link createWorlds}: the storage, its independent reader, and how many campaigns. */
export interface WorldOptions {
  /** The storage under test; every world uses fresh ids, so one storage serves many worlds. */
  readonly storage: StorageAdapter;
  /**
   * Reader of that storage's persisted conversations of a campaign, read straight from storage: a
   * list or `{ conversations }`, directly or as a promise (see `ConformanceFixture.inspect`).
   */
  readonly inspect: (campaignId: string) => InspectResult;
  /** Number of campaigns (default 2, so organization-wide opt-outs cross campaigns). */
  readonly campaigns?: number;
}

/**
 * Build both worlds: one organization (owner, admin, texters, through the engine's `addMembers`) and
 * draft campaigns, in the engine and in the model. For `fc.asyncModelRun`.
 */
export async function createWorlds(options: WorldOptions): Promise<Worlds> {
  const storage = options.storage;
  // The clock lives on the world (each step advances it); 10:00 in New York, inside default texting hours.
  const clock = { now: Date.UTC(2026, 0, 5, 15, 0, 0), eventCursor: cursors.get(storage) ?? 0 };
  let n = 0;
  // Unique per world (several worlds may share one storage) and hostile on purpose: ids are data.
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const engine = new Engine({
    storage,
    clock: () => clock.now,
    generateId: (kind) => `${kind === "organization" ? "org" : "cmp"}-${nonce}-${++n}-'"; drop table x;--`,
  });
  const members: [string, Role][] = [[WORLD_USERS.admin, "admin"], ...WORLD_USERS.texters.map((t): [string, Role] => [t, "texter"])];
  const org = await engine.createOrganization({ name: "World org", ownerId: WORLD_USERS.owner });
  await engine.addMembers({ actorId: WORLD_USERS.owner, orgId: org.id, members: members.map(([userId, role]) => ({ userId, role })) });
  const model = new ReferenceModel(WORLD_USERS.owner, members);
  const campaignIds: string[] = [];
  for (let i = 0; i < (options.campaigns ?? 2); i++) {
    const c = await engine.createCampaign({ actorId: WORLD_USERS.owner, orgId: org.id, title: `Campaign ${i}` });
    campaignIds.push(c.id);
    model.addCampaign(c.id);
  }
  const world: RealWorld = Object.assign(clock, {
    replayed: new Map(campaignIds.map((id) => [id, new Map()])),
    storage,
    engine,
    inspect: toInspector(options.inspect),
    campaignIds,
    orgId: org.id,
  });
  await newEvents(world);
  cursors.set(storage, world.eventCursor);
  return { model: { model, campaignIds }, real: world };
}

/** Events of this world's organization recorded since the last call, replayed into `real.replayed`. */
async function newEvents(real: RealWorld): Promise<number> {
  let count = 0;
  for (;;) {
    const page = await real.engine.readEvents({ after: real.eventCursor, limit: 10_000 });
    if (page.length === 0) return count;
    for (const e of page) {
      if (e.orgId !== real.orgId) continue;
      count++;
      const holders = e.campaignId === null ? undefined : real.replayed.get(e.campaignId);
      if (holders !== undefined) applyEvent(holders, e, e.campaignId!);
    }
    real.eventCursor = page[page.length - 1]!.seq;
  }
}

/** What an engine call produced: a value or an `AssignmentError` code. */
export type Actual<T> =
  | {
      /** The call returned. */
      kind: "ok";
      /** What it returned. */
      value: T;
    }
  | {
      /** The call threw an `AssignmentError`. */
      kind: "error";
      /** Its code. */
      code: string;
      /** The error. */
      error: unknown;
    };

/** Run an engine call, catching `AssignmentError`s (any other error is a bug and is rethrown). */
export async function attempt<T>(call: () => Promise<T>): Promise<Actual<T>> {
  try {
    return { kind: "ok", value: await call() };
  } catch (error) {
    if (error instanceof AssignmentError) return { kind: "error", code: error.code, error };
    throw error;
  }
}

/**
 * Compare the model's expectation with what the engine did. `refusal` extracts a refusal reason
 * from an ok value (`null` when it is a success); `project` maps a success to the model's shape.
 */
export function expectSame<T, E>(
  label: string,
  expected: Expected<E>,
  actual: Actual<T>,
  refusal: (value: T) => string | null,
  project: (value: T) => E,
): void {
  const got =
    actual.kind === "error"
      ? { kind: "error", code: actual.code }
      : refusal(actual.value) !== null
        ? { kind: "refused", reason: refusal(actual.value) }
        : { kind: "ok", value: project(actual.value) };
  const want =
    expected.kind === "error"
      ? { kind: "error", code: expected.code }
      : expected.kind === "refused"
        ? { kind: "refused", reason: expected.reason }
        : { kind: "ok", value: expected.value };
  deepStrictEqual(got, want, `${label}: engine and model disagree`);
}

/**
 * The invariants, checked after every step:
 * - I1/I2: storage holds exactly the model's conversations, each with the model's holder and
 *   status, every holder a sender, no conversation twice;
 * - A1: the overview matches the model's counts (its sender rows are the roster, in order);
 * - O1: the members are the model's, in the order they were added;
 * - I8: a refused or failed step recorded no event (`changed` false), a successful change did;
 * - events: the holders the event log describes are the stored holders.
 * I3–I7 are checked through the model's exact predictions of each request and join.
 */
export async function checkInvariants(model: ModelWorld, real: RealWorld, changed: boolean | null): Promise<void> {
  const count = await newEvents(real);
  cursors.set(real.storage, real.eventCursor);
  if (changed === false) strictEqual(count, 0, "I8: a refused operation recorded events");
  if (changed === true && count === 0) throw new Error("Events: a successful change recorded no event");
  const members = await real.engine.listMembers({ actorId: WORLD_USERS.owner, orgId: real.orgId, limit: 1000 });
  deepStrictEqual(
    members.items.map((m) => [m.userId, m.role]),
    [...model.model.members],
    "O1: the stored members differ from the model's (or are not in the order they were added)",
  );
  for (const campaignId of real.campaignIds) {
    const rows = await real.inspect(campaignId);
    const ids = new Set(rows.map((r) => r.id));
    strictEqual(ids.size, rows.length, "I1/I2: a conversation is stored twice");
    const mc = model.model.campaigns.get(campaignId)!;
    const actual = rows.map((r) => ({ contactId: r.contactId, holder: r.holder, status: r.status }));
    const expected = mc.conversations.map((c) => ({ contactId: c.contactId, holder: c.holder, status: c.status }));
    const byContact = (a: { contactId: string }, b: { contactId: string }) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0);
    deepStrictEqual(actual.sort(byContact), expected.sort(byContact), "I2: stored conversations differ from the model");
    const replayed = real.replayed.get(campaignId)!;
    for (const r of rows) {
      if (r.holder !== null && !mc.senders.includes(r.holder)) {
        throw new Error(`I2: conversation ${r.id} is held by "${r.holder}", who is not a sender`);
      }
      strictEqual(replayed.get(r.id) ?? null, r.holder, `Events: the event log says ${r.id} is held by ${replayed.get(r.id) ?? null}, storage says ${r.holder}`);
    }
    const overview = await real.engine.getOverview({ actorId: WORLD_USERS.owner, campaignId });
    const want = model.model.overview(campaignId);
    deepStrictEqual(
      {
        total: overview.total,
        unassigned: overview.unassigned,
        unassignedNotStarted: overview.unassignedNotStarted,
        unassignedNeedsReply: overview.unassignedNeedsReply,
        senders: overview.senders,
      },
      want,
      "A1: overview differs from the model",
    );
  }
}

/** Conversation id of a contact in a campaign, read from storage. */
export async function conversationIdOf(real: RealWorld, campaignId: string, contactId: string): Promise<string | null> {
  const rows = await real.inspect(campaignId);
  return rows.find((r) => r.contactId === contactId)?.id ?? null;
}

/**
 * One model-based step: advance the clock one millisecond, let the model predict, run the engine
 * call, compare, then check every invariant. A refusal or error must leave no event behind (I8).
 */
export async function runStep<T, E>(
  model: ModelWorld,
  real: RealWorld,
  step: {
    label: string;
    predict: (now: number) => Expected<E>;
    call: () => Promise<T>;
    refusal?: (value: T) => string | null;
    project: (value: T) => E;
    /** Whether a success must record events (`null`: not checked, e.g. a no-op is a success too). */
    changesOnSuccess?: boolean | null | ((expected: E) => boolean | null);
  },
): Promise<void> {
  real.now += 1;
  const expected = step.predict(real.now);
  const actual = await attempt(step.call);
  expectSame(step.label, expected, actual, step.refusal ?? (() => null), step.project);
  const changes =
    typeof step.changesOnSuccess === "function" && expected.kind === "ok"
      ? step.changesOnSuccess(expected.value)
      : typeof step.changesOnSuccess === "function"
        ? null
        : (step.changesOnSuccess ?? null);
  await checkInvariants(model, real, expected.kind === "ok" ? changes : false);
}

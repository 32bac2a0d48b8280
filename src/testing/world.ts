/**
 * The two worlds a model-based run keeps side by side: the reference model and the real engine on
 * a storage adapter, plus the checks that compare them after every step (I1–I8, A1).
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { createEngine, type Engine } from "../engine/engine.js";
import { AssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { ConversationStatus, Role } from "../types.js";
import { type Expected, ReferenceModel } from "./model.js";

/** One conversation as persisted, read by an {@link Inspector} independently of the adapter's query methods. */
export interface InspectedConversation {
  /** Conversation id. */
  readonly id: string;
  /** Contact id. */
  readonly contactId: string;
  /** Holder or `null`. */
  readonly holder: string | null;
  /** Status. */
  readonly status: ConversationStatus;
}

/**
 * Reads a campaign's persisted conversations straight from storage, as a promise of the list. The
 * kit's options ({@link WorldOptions.inspect}, `ConformanceOptions.inspect`) also take a reader that
 * answers synchronously or with an object holding `conversations` (what `MemoryStorage.inspect`
 * returns); the kit turns those into this shape.
 */
export type Inspector = (campaignId: string) => Promise<readonly InspectedConversation[]>;

/**
 * Turn a reader that returns a campaign's conversations — a list or an object with a `conversations`
 * list, directly or as a promise — into an {@link Inspector}. Anything else is rejected with a
 * `TypeError` naming what came back, so a mis-wired reader fails loudly instead of comparing nothing.
 */
export function toInspector(
  read: (
    campaignId: string,
  ) =>
    | readonly InspectedConversation[]
    | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }
    | Promise<readonly InspectedConversation[] | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }>,
): Inspector {
  return async (campaignId) => {
    const got: unknown = await read(campaignId);
    if (Array.isArray(got)) return got as readonly InspectedConversation[];
    if (typeof got === "object" && got !== null && Array.isArray((got as { conversations?: unknown }).conversations)) {
      return (got as { conversations: readonly InspectedConversation[] }).conversations;
    }
    const what =
      got === null ? "null" : typeof got === "object" ? `an object with keys ${JSON.stringify(Object.keys(got))}` : typeof got;
    throw new TypeError(
      `inspect(${JSON.stringify(campaignId)}) must give the campaign's conversations: a list, or an object with a "conversations" list (directly or as a promise); it gave ${what}.`,
    );
  };
}

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
  /** The storage under test. */
  readonly storage?: StorageAdapter;
}

/**
 * The people of a world: an owner, an admin, four texters and a stranger who is not a member. Two
 * texters and the stranger are named like `Object.prototype` properties, so storage that keys plain
 * objects by user id fails the model (identifiers and strings, SPEC).
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
} = {
  owner: "owner",
  admin: "boss",
  texters: ["t1", "t2", "__proto__", "constructor"],
  stranger: "toString",
};

/** Everybody who may act in a generated command, stranger included. */
export const ACTORS: readonly string[] = [
  WORLD_USERS.owner,
  WORLD_USERS.admin,
  ...WORLD_USERS.texters,
  WORLD_USERS.stranger,
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

/**
 * Options of {@link createWorlds}.
 * @typeParam S - your storage's type, so `inspect` can call its own methods (e.g. `MemoryStorage.inspect`).
 */
export interface WorldOptions<S extends StorageAdapter = StorageAdapter> {
  /** A fresh storage for each run. */
  readonly storage: () => S | Promise<S>;
  /**
   * Reader of that storage's persisted state: given the storage, a function from a campaign id to
   * that campaign's conversations, read straight from storage. It may return a list or an object with
   * a `conversations` list, directly or as a promise — so the in-memory adapter wires up as
   * `inspect: (storage) => (campaignId) => storage.inspect(campaignId)`.
   */
  readonly inspect: (
    storage: S,
  ) => (
    campaignId: string,
  ) =>
    | readonly InspectedConversation[]
    | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }
    | Promise<readonly InspectedConversation[] | {
        /** The campaign's conversations. */
        readonly conversations: readonly InspectedConversation[];
      }>;
  /** Number of campaigns (default 2, so organization-wide opt-outs cross campaigns). */
  readonly campaigns?: number;
}

/**
 * Build both worlds: one organization (owner, admin, texters t1–t4) and draft campaigns, in the
 * engine and in the model. For `fc.asyncModelRun`.
 */
export async function createWorlds<S extends StorageAdapter>(options: WorldOptions<S>): Promise<Worlds> {
  const storage = await options.storage();
  const real = {
    now: Date.UTC(2026, 0, 5, 15, 0, 0),
    eventCursor: cursors.get(storage) ?? 0,
  } as { now: number; eventCursor: number };
  let n = 0;
  // Unique per world (several worlds may share one storage) and hostile on purpose: ids are data.
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const engine = createEngine({
    storage,
    clock: () => real.now,
    generateId: (kind) => `${kind === "organization" ? "org" : "cmp"}-${nonce}-${++n}-'"; drop table x;--`,
  });
  const members: Record<string, Role> = { [WORLD_USERS.admin]: "admin" };
  for (const t of WORLD_USERS.texters) members[t] = "texter";
  const org = await engine.createOrganization({ name: "World org", ownerId: WORLD_USERS.owner });
  for (const [userId, role] of Object.entries(members)) {
    await engine.addMember({ actorId: WORLD_USERS.owner, orgId: org.id, userId, role });
  }
  const model = new ReferenceModel(WORLD_USERS.owner, members);
  const campaignIds: string[] = [];
  for (let i = 0; i < (options.campaigns ?? 2); i++) {
    const c = await engine.createCampaign({ actorId: WORLD_USERS.owner, orgId: org.id, title: `Campaign ${i}` });
    campaignIds.push(c.id);
    model.addCampaign(c.id);
  }
  const world: RealWorld = Object.assign(real, {
    storage,
    engine,
    inspect: toInspector(options.inspect(storage)),
    campaignIds,
    orgId: org.id,
  });
  await newEvents(world);
  cursors.set(storage, world.eventCursor);
  return { model: { model, campaignIds }, real: world };
}

/** Events of this world's organization recorded since the last call. */
async function newEvents(real: RealWorld): Promise<number> {
  let count = 0;
  for (;;) {
    const page = await real.engine.readEvents({ after: real.eventCursor, limit: 10_000 });
    if (page.length === 0) return count;
    count += page.filter((e) => e.orgId === real.orgId).length;
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
 * - A1: the overview matches the model's counts;
 * - I8: a refused or failed step recorded no event (`changed` false), a successful change did.
 * I3–I7 are checked through the model's exact predictions of each request and join.
 */
export async function checkInvariants(model: ModelWorld, real: RealWorld, changed: boolean | null): Promise<void> {
  for (const campaignId of real.campaignIds) {
    const rows = await real.inspect(campaignId);
    const ids = new Set(rows.map((r) => r.id));
    strictEqual(ids.size, rows.length, "I1/I2: a conversation is stored twice");
    const mc = model.model.campaigns.get(campaignId)!;
    const actual = rows.map((r) => ({ contactId: r.contactId, holder: r.holder, status: r.status }));
    const expected = mc.conversations.map((c) => ({ contactId: c.contactId, holder: c.holder, status: c.status }));
    const byContact = (a: { contactId: string }, b: { contactId: string }) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : 0);
    deepStrictEqual(actual.sort(byContact), expected.sort(byContact), "I2: stored conversations differ from the model");
    for (const r of rows) {
      if (r.holder !== null && !mc.senders.includes(r.holder)) {
        throw new Error(`I2: conversation ${r.id} is held by "${r.holder}", who is not a sender`);
      }
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
  const count = await newEvents(real);
  if (real.storage !== undefined) cursors.set(real.storage, real.eventCursor);
  if (changed === false) strictEqual(count, 0, "I8: a refused operation recorded events");
  if (changed === true && count === 0) throw new Error("Events: a successful change recorded no event");
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

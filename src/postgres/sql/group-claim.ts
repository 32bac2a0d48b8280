/**
 * Grouped claims ("group commit" for Request Conversations). Under load many claims for the same
 * campaign wait for a slot at once; instead of one transaction each, one transaction serves up to
 * `maxGroup` of them by different texters: the campaign's shared lock and the texters' locks (in
 * sorted order, so groups never deadlock each other) in one round trip, one read of everything they
 * decide on, one hand-out statement that picks the rows for all of them in hand-out order and deals
 * them out in queue order, and the facts. Every guarantee of a single claim holds for each member;
 * the per-claim cost of round trips and commits is shared.
 *
 * If the group fails for any reason but an unknown commit outcome or a lock timeout, each member is
 * retried on its own, so one request's fault never fails another's.
 * @module
 */
import { channel } from "node:diagnostics_channel";
import { AssignmentError } from "../../errors.js";
import { claimFacts } from "../../storage/facts.js";
import type { ClaimOutcome, ClaimRequest } from "../../storage/pool.js";
import { claimRoom, compareHandOut } from "../../storage/rules.js";
import type { Fact } from "../../storage/facts.js";
import type { Conversation } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { claimOne, KnownZones } from "./fast-claim.js";
import { type DealtRow, claim, handOutQuery, lockAndReadClaimState, needsState, openZonesOf, standing, storeKeys } from "./claim.js";
import { BatchingClient, inlineValues, lastResult } from "./batch.js";
import { CLAIM_COUNTED, claimCounts } from "./claim-counts.js";
import { insertFacts } from "./facts.js";
import { PreparedStatements } from "./prepared.js";
import { toConversation } from "./rows.js";
import { CommitOutcomeUnknown, Rollback, type TxOptions, transaction } from "./transaction.js";

/** The group cannot be served together (its members see different contact zones closed, T2): they run one by one. */
const ONE_BY_ONE = Symbol("one by one");

/** True if two claims may share a group: requests (not joins) on the same campaign, version and ranks. */
export function groupable(a: ClaimRequest, b: ClaimRequest): boolean {
  return a.campaignId === b.campaignId && a.expectedVersion === b.expectedVersion && a.join === null && b.join === null && a.ranks.join() === b.ranks.join();
}

/**
 * Deal `total` rows, best first, to the members' ranges in queue order, in one statement ({@link handOutQuery}).
 * In the adapter's own transaction (never a host's, which must get neither setting) the statement
 * writes its own count rows (`claim-counts.ts`) and is prepared once per connection (`prepared.ts`).
 * A refused prepared statement fails the group, whose members then run one by one (nothing was changed).
 */
async function handOut(
  client: PgClientLike,
  schema: string,
  first: ClaimRequest,
  openZones: readonly string[] | null,
  ranges: readonly { texter: string; first: number; last: number }[],
  total: number,
  prepared: PreparedStatements | undefined,
): Promise<DealtRow[]> {
  const own = client instanceof BatchingClient && client.started;
  const q = handOutQuery(schema, { campaignId: first.campaignId, limit: total, ranks: first.ranks, openZones, to: { ranges }, now: first.now, counts: own ? claimCounts(schema, "($2::text[])[u.member]") : undefined });
  if (!own) return (await client.query<DealtRow>(q.text, q.values)).rows;
  const use = prepared?.use(client.raw, q.text, q.values) ?? null;
  try {
    const rows = lastResult(await client.query<DealtRow>([CLAIM_COUNTED, ...(use?.sql ?? [inlineValues(q.text, q.values)])].join(";\n"))).rows;
    if (use !== null) prepared!.ran(use);
    return rows;
  } catch (error) {
    if (use !== null) prepared!.refused(use, error);
    throw error;
  }
}

/**
 * Run claims of distinct texters on one campaign and version in one transaction. Each member is
 * settled on its own: a member retried alone after a group failure reports its own result or fault.
 */
export async function groupClaim(
  pool: PgPoolLike,
  schema: string,
  reqs: readonly ClaimRequest[],
  tx: TxOptions,
  known: KnownZones,
  prepared?: PreparedStatements,
): Promise<PromiseSettledResult<ClaimOutcome>[]> {
  if (reqs.length === 1) return Promise.allSettled([claimOne(pool, schema, reqs[0]!, tx, known, prepared)]);
  try {
    const outcomes = await transaction<ClaimOutcome[] | typeof ONE_BY_ONE>(
      pool,
      async (client) => {
        const first = reqs[0]!;
        // Only members whose gate, cap or key reads their state are serialized and counted (as in a
        // single claim); the others need neither.
        const counted = reqs.filter(needsState).map((r) => r.texterId);
        const state = await lockAndReadClaimState(client, schema, first.campaignId, reqs, counted, null);
        if (state !== null) known.remember(first.campaignId, state.zones);
        // Closed contact zones (T2) are read at each member's `now`: members that disagree (an opening
        // between their clocks) run one by one.
        const openZones = state === null ? null : openZonesOf(state.zones, first);
        if (state !== null && reqs.some((r) => JSON.stringify(openZonesOf(state.zones, r)) !== JSON.stringify(openZones))) {
          return new Rollback<ClaimOutcome[] | typeof ONE_BY_ONE>(ONE_BY_ONE);
        }
        // Decide each member as a single claim would.
        const decided: (ClaimOutcome | { kind: "pending"; room: number })[] = reqs.map((req) => {
          const stop = standing(req, state);
          if (stop !== null) return stop;
          const room = claimRoom(req, state!.held.get(req.texterId) ?? { held: 0, notStarted: 0, needsReply: 0 });
          return room.kind === "blocked" ? { ...room, joined: false } : { kind: "pending", room: room.room };
        });
        // One hand-out for the whole group, dealt in queue order: the first member gets the best rows.
        const ranges: { texter: string; first: number; last: number }[] = [];
        let total = 0;
        decided.forEach((o, i) => {
          if (o.kind !== "pending") return;
          ranges.push({ texter: reqs[i]!.texterId, first: total + 1, last: total + o.room });
          total += o.room;
        });
        const byTexter = new Map<string, Conversation[]>(ranges.map((r) => [r.texter, []]));
        if (total > 0) {
          const dealt = ranges.map((r) => byTexter.get(r.texter)!);
          for (const row of await handOut(client, schema, first, openZones, ranges, total, prepared)) {
            // Field by field, with the campaign, texter and time the statement did not repeat per row.
            const assignee = ranges[row.member - 1]!.texter;
            dealt[row.member - 1]!.push(toConversation({ campaign_id: first.campaignId, seq: row.seq, contact_id: row.contact_id, status: row.status, assignee, assigned_at: first.now, reply_at: row.reply_at, contact_tz: row.contact_tz }));
          }
        }
        const facts: Fact[] = [];
        const keys: { texter: string; key: string; conversations: Conversation[] }[] = [];
        const final = decided.map((o, i): ClaimOutcome => {
          const req = reqs[i]!;
          if (o.kind !== "pending") return o;
          const conversations = byTexter.get(req.texterId)!.sort(compareHandOut);
          facts.push(...claimFacts(req.context, null, false, req.texterId, conversations));
          if (req.idempotencyKey !== null && conversations.length > 0) keys.push({ texter: req.texterId, key: req.idempotencyKey, conversations });
          return { kind: "claimed", conversations, joined: false };
        });
        if (facts.length === 0) return new Rollback(final); // nothing claimed: nothing to write
        await insertFacts(client, schema, facts);
        await storeKeys(client, schema, first.campaignId, first.now, keys);
        return final;
      },
      tx,
    );
    if (outcomes === ONE_BY_ONE) return Promise.allSettled(reqs.map((r) => claim(pool, schema, r, tx, known)));
    return outcomes.map((value) => ({ status: "fulfilled", value }));
  } catch (error) {
    // The commit's outcome is unknown for every member alike; a lock wait that ran out would run out again.
    if (error instanceof CommitOutcomeUnknown || error instanceof AssignmentError) return reqs.map(() => ({ status: "rejected", reason: error }));
    // Isolate the fault: run each member on its own; a member's own fault rejects only that member.
    return Promise.allSettled(reqs.map((r) => claim(pool, schema, r, tx, known)));
  }
}

/**
 * Where a {@link ClaimQueue} publishes its depth (`node:diagnostics_channel`; the engine lists it as
 * `CHANNELS.claimQueue`): `{ schema, waiting, active }` on every change, only while subscribed.
 */
const queueDepth = channel("selfassign:claim-queue");

/** A claim waiting for a slot. */
interface Waiting {
  readonly req: ClaimRequest;
  readonly resolve: (o: ClaimOutcome) => void;
  readonly reject: (e: unknown) => void;
  /** Detaches the abort listener of the request's signal, if any. */
  readonly settle: () => void;
}

/**
 * Queues claims and runs them with at most `limit` transactions at once, grouping waiting claims of
 * distinct texters on the same campaign (and version) into one transaction of up to `maxGroup`. A
 * claim whose `signal` aborts while it waits is taken out of the queue and rejects with `ABORTED`
 * (nothing changed); once its transaction runs, it runs to the end.
 */
export class ClaimQueue {
  private active = 0;
  private readonly waiting: Waiting[] = [];
  private readonly schemaName: string;
  /** The contact zones of campaigns this queue's claims read (see `fast-claim.ts`). */
  private readonly known = new KnownZones();
  /** The claim statements (one-round-trip claims, group hand-outs) this queue's connections prepared (`prepared.ts`). */
  private readonly prepared = new PreparedStatements();

  constructor(
    private readonly pool: PgPoolLike,
    private readonly schema: string,
    readonly limit: number,
    readonly maxGroup: number,
    private readonly tx: TxOptions,
  ) {
    this.schemaName = schema.replaceAll('"', "");
  }

  /** Queue a claim; resolves with its outcome. */
  run(req: ClaimRequest): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      const signal = req.signal;
      if (signal?.aborted === true) {
        reject(aborted(signal));
        return;
      }
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i < 0) return; // already running
        this.waiting.splice(i, 1);
        this.publish();
        reject(aborted(signal!));
      };
      const entry: Waiting = { req, resolve, reject, settle: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
      this.pump();
      this.publish();
    });
  }

  /** Publish the depth, only when somebody subscribes (nothing is built otherwise). */
  private publish(): void {
    if (queueDepth.hasSubscribers) queueDepth.publish({ schema: this.schemaName, waiting: this.waiting.length, active: this.active });
  }

  private pump(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      const head = this.waiting.shift()!;
      const group = [head];
      if (head.req.join === null) {
        const texters = new Set([head.req.texterId]);
        for (let i = 0; i < this.waiting.length && group.length < this.maxGroup; ) {
          const w = this.waiting[i]!;
          if (groupable(head.req, w.req) && !texters.has(w.req.texterId)) {
            texters.add(w.req.texterId);
            group.push(w);
            this.waiting.splice(i, 1);
          } else i++;
        }
      }
      for (const g of group) g.settle();
      this.active++;
      groupClaim(
        this.pool,
        this.schema,
        group.map((g) => g.req),
        this.tx,
        this.known,
        this.prepared,
      )
        .then(
          (settled) =>
            group.forEach((g, i) => {
              const r = settled[i]!;
              if (r.status === "fulfilled") g.resolve(r.value);
              else g.reject(r.reason);
            }),
          (error: unknown) => group.forEach((g) => g.reject(error)),
        )
        .finally(() => {
          this.active--;
          this.pump();
          this.publish();
        });
    }
  }
}

/** The error of a claim whose signal aborted while it waited for a slot. */
function aborted(signal: AbortSignal): AssignmentError {
  return new AssignmentError("ABORTED", "The claim was aborted by its signal while it waited for a slot; nothing was changed.", { cause: signal.reason });
}

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
import { AssignmentError } from "../../errors.js";
import { claimFacts } from "../../storage/facts.js";
import type { ClaimOutcome, ClaimRequest } from "../../storage/pool.js";
import { claimRoom, compareHandOut } from "../../storage/rules.js";
import type { Fact } from "../../storage/facts.js";
import type { Conversation } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { claim, closedOf, needsState, rankSql, readClaimState, standing, storeKeys } from "./claim.js";
import { insertFacts } from "./facts.js";
import { lockCampaign } from "./locks.js";
import { type ConversationRow, columnsOf, sqlLimit, toConversation } from "./rows.js";
import { CommitOutcomeUnknown, Rollback, type TxOptions, transaction } from "./transaction.js";

/** The group cannot be served together (closed contact zones): its members run one by one. */
const ONE_BY_ONE = Symbol("one by one");

/** True if two claims may share a group: requests (not joins) on the same campaign, version and ranks. */
export function groupable(a: ClaimRequest, b: ClaimRequest): boolean {
  return a.campaignId === b.campaignId && a.expectedVersion === b.expectedVersion && a.join === null && b.join === null && a.ranks.join() === b.ranks.join();
}

/** Deal `total` rows, best first, to the members' ranges in queue order, in one statement. */
async function handOut(
  client: PgClientLike,
  schema: string,
  first: ClaimRequest,
  ranges: readonly { texter: string; first: number; last: number }[],
  total: number,
): Promise<ConversationRow[]> {
  const { rows } = await client.query<ConversationRow>(
    `WITH picked AS MATERIALIZED (
       SELECT seq, row_number() OVER (ORDER BY rank, sort_key, seq) AS n
       FROM (
         SELECT seq, rank, sort_key FROM ${schema}.conversations
         WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2 AND ${rankSql(first.ranks)}
         ORDER BY rank, sort_key, seq
         LIMIT ${sqlLimit(total)}
         FOR UPDATE OF conversations SKIP LOCKED
       ) s
     ), dealt AS (
       SELECT p.seq, t.texter FROM picked p
       JOIN unnest($2::text[], $3::int[], $4::int[]) AS t(texter, first, last) ON p.n BETWEEN t.first AND t.last
     )
     UPDATE ${schema}.conversations c SET assignee = d.texter, assigned_at = $5
     FROM dealt d WHERE c.campaign_id = $1 AND c.seq = d.seq
     RETURNING ${columnsOf("c")}`,
    [first.campaignId, ranges.map((r) => r.texter), ranges.map((r) => r.first), ranges.map((r) => r.last), first.now],
  );
  return rows;
}

/**
 * Run claims of distinct texters on one campaign and version in one transaction. Each member is
 * settled on its own: a member retried alone after a group failure reports its own result or fault.
 */
export async function groupClaim(pool: PgPoolLike, schema: string, reqs: readonly ClaimRequest[], tx: TxOptions): Promise<PromiseSettledResult<ClaimOutcome>[]> {
  if (reqs.length === 1) return Promise.allSettled([claim(pool, schema, reqs[0]!, tx)]);
  try {
    const outcomes = await transaction<ClaimOutcome[] | typeof ONE_BY_ONE>(
      pool,
      async (client) => {
        const first = reqs[0]!;
        // Only members whose gate, cap or key reads their state are serialized and counted (as in a
        // single claim); the others need neither.
        const counted = reqs.filter(needsState).map((r) => r.texterId);
        await lockCampaign(client, first.campaignId, "shared", counted);
        const state = await readClaimState(client, schema, first.campaignId, reqs, counted, null);
        // With closed zones (T2) the members run one by one, on the per-zone statement (see claim.ts).
        if (state !== null && reqs.some((r) => closedOf(state.zones, r).length > 0)) return new Rollback<ClaimOutcome[] | typeof ONE_BY_ONE>(ONE_BY_ONE);
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
        if (total > 0) for (const row of await handOut(client, schema, first, ranges, total)) byTexter.get(row.assignee!)!.push(toConversation(row));
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
    if (outcomes === ONE_BY_ONE) return Promise.allSettled(reqs.map((r) => claim(pool, schema, r, tx)));
    return outcomes.map((value) => ({ status: "fulfilled", value }));
  } catch (error) {
    // The commit's outcome is unknown for every member alike; a lock wait that ran out would run out again.
    if (error instanceof CommitOutcomeUnknown || error instanceof AssignmentError) return reqs.map(() => ({ status: "rejected", reason: error }));
    // Isolate the fault: run each member on its own; a member's own fault rejects only that member.
    return Promise.allSettled(reqs.map((r) => claim(pool, schema, r, tx)));
  }
}

/**
 * Queues claims and runs them with at most `limit` transactions at once, grouping waiting claims of
 * distinct texters on the same campaign (and version) into one transaction of up to `maxGroup`.
 */
export class ClaimQueue {
  private active = 0;
  private readonly waiting: { req: ClaimRequest; resolve: (o: ClaimOutcome) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly pool: PgPoolLike,
    private readonly schema: string,
    readonly limit: number,
    readonly maxGroup: number,
    private readonly tx: TxOptions,
  ) {}

  /** Queue a claim; resolves with its outcome. */
  run(req: ClaimRequest): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ req, resolve, reject });
      this.pump();
    });
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
      this.active++;
      groupClaim(
        this.pool,
        this.schema,
        group.map((g) => g.req),
        this.tx,
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
        });
    }
  }
}

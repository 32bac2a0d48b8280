/**
 * Grouped claims ("group commit" for Request Conversations). Under load many claims for the same
 * campaign wait for a slot at once; instead of one transaction each, one transaction serves up to
 * `maxGroup` of them by different texters: one version check, the texters' advisory locks (in sorted
 * order, so groups never deadlock each other), one count of what each holds, one key lookup, one
 * hand-out statement that picks the rows for all of them in hand-out order and deals them out in
 * queue order, and the events. Every guarantee of a single claim holds for each member; the per-claim
 * cost of round trips and commits is shared.
 *
 * If the group fails for any reason but an unknown commit outcome, each member is retried on its
 * own, so one request's fault never fails another's.
 * @module
 */
import type { ClaimOutcome, ClaimRequest } from "../../storage/contract.js";
import type { Conversation, EventDraft } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { checkVersion } from "./aggregates.js";
import { claimRoom } from "../../storage/claim-room.js";
import { claim, closedOf, needsState, rankSql, sqlLimit } from "./claim.js";
import { insertEvents } from "./events.js";
import { CONVERSATION_COLUMNS, type ConversationRow, byHandOut, statusCode, toConversation } from "./rows.js";
import { CommitOutcomeUnknown, Rollback, transaction } from "./transaction.js";

/** The group cannot be served together (closed contact zones): its members run one by one. */
const ONE_BY_ONE = Symbol("one by one");
const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");

/** True if two claims may share a group: same campaign and version, no aggregate write. */
export function groupable(a: ClaimRequest, b: ClaimRequest): boolean {
  return (
    a.campaignId === b.campaignId &&
    a.expectedVersion === b.expectedVersion &&
    a.next === null &&
    b.next === null &&
    a.ranks.join() === b.ranks.join()
  );
}

/**
 * Run claims of distinct texters on one campaign and version in one transaction. Each member is
 * settled on its own: a member retried alone after a group failure reports its own result or fault.
 */
export async function groupClaim(
  pool: PgPoolLike,
  schema: string,
  reqs: readonly ClaimRequest[],
): Promise<PromiseSettledResult<ClaimOutcome>[]> {
  if (reqs.length === 1) return Promise.allSettled([claim(pool, schema, reqs[0]!)]);
  try {
    const outcomes = await transaction<ClaimOutcome[] | typeof ONE_BY_ONE>(pool, async (client) => {
      const first = reqs[0]!;
      const locked = await checkVersion(client, schema, first.campaignId, first.expectedVersion, "FOR SHARE");
      if (locked === null) return new Rollback(reqs.map((): ClaimOutcome => ({ kind: "conflict" })));
      // With closed zones (T2) the members run one by one, on the per-zone statement (see claim.ts).
      if (reqs.some((r) => closedOf(locked.zones, r).length > 0)) return new Rollback<ClaimOutcome[] | typeof ONE_BY_ONE>(ONE_BY_ONE);
      // Only members whose gate, cap or key reads their state are serialized and counted (as in a
      // single claim); the others need neither.
      const texters = reqs.filter(needsState).map((r) => r.texterId);
      const counts = new Map<string, { held: number; notStarted: number; needsReply: number }>();
      if (texters.length > 0) {
        await client.query(
          `SELECT pg_advisory_xact_lock(hashtext($1), hashtext(t)) FROM (SELECT t FROM unnest($2::text[]) AS t ORDER BY t) s`,
          [first.campaignId, texters],
        );
        const { rows } = await client.query<{ assignee: string; held: string; not_started: string; needs_reply: string }>(
          `SELECT assignee, count(*) AS held,
                  count(*) FILTER (WHERE status = ${NOT_STARTED}) AS not_started,
                  count(*) FILTER (WHERE status = ${NEEDS_REPLY}) AS needs_reply
           FROM ${schema}.conversations WHERE campaign_id = $1 AND assignee = ANY($2::text[]) GROUP BY assignee`,
          [first.campaignId, texters],
        );
        for (const r of rows) counts.set(r.assignee, { held: Number(r.held), notStarted: Number(r.not_started), needsReply: Number(r.needs_reply) });
      }
      const keyed = reqs.filter((r) => r.idempotencyKey !== null);
      const previous = new Map<string, Conversation[]>();
      if (keyed.length > 0) {
        const { rows } = await client.query<{ texter_id: string; conversations: Conversation[] }>(
          `SELECT k.texter_id, k.conversations FROM ${schema}.claim_keys k
           JOIN unnest($2::text[], $3::text[]) AS q(texter_id, key) ON q.texter_id = k.texter_id AND q.key = k.key
           WHERE k.campaign_id = $1`,
          [first.campaignId, keyed.map((r) => r.texterId), keyed.map((r) => r.idempotencyKey)],
        );
        for (const r of rows) previous.set(r.texter_id, r.conversations);
      }
      // Decide each member as a single claim would.
      const outcomes: (ClaimOutcome | { kind: "pending"; room: number })[] = reqs.map((req) => {
        const replay = previous.get(req.texterId);
        if (replay !== undefined) return { kind: "replayed", conversations: replay };
        const decided = claimRoom(req, counts.get(req.texterId) ?? { held: 0, notStarted: 0, needsReply: 0 });
        return decided.kind === "blocked" ? decided : { kind: "pending", room: decided.room };
      });
      // Every member must see the same closed zones (T2); otherwise they run one by one.
      // One hand-out for the whole group, dealt in queue order: the first member gets the best rows.
      const ranges: { texter: string; first: number; last: number }[] = [];
      let total = 0;
      outcomes.forEach((o, i) => {
        if (o.kind !== "pending") return;
        ranges.push({ texter: reqs[i]!.texterId, first: total + 1, last: total + o.room });
        total += o.room;
      });
      const byTexter = new Map<string, Conversation[]>(ranges.map((r) => [r.texter, []]));
      if (total > 0) {
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
           RETURNING ${CONVERSATION_COLUMNS.split(", ").map((col) => `c.${col}`).join(", ")}`,
          [
            first.campaignId,
            ranges.map((r) => r.texter),
            ranges.map((r) => r.first),
            ranges.map((r) => r.last),
            first.now,
          ],
        );
        for (const row of rows) byTexter.get(row.assignee!)!.push(toConversation(row));
      }
      const events: EventDraft[] = [];
      const keys: { texter: string; key: string; conversations: Conversation[] }[] = [];
      const final = outcomes.map((o, i): ClaimOutcome => {
        const req = reqs[i]!;
        if (o.kind !== "pending") return o;
        const conversations = byTexter.get(req.texterId)!.sort(byHandOut);
        events.push(...req.events(conversations));
        if (req.idempotencyKey !== null && conversations.length > 0) keys.push({ texter: req.texterId, key: req.idempotencyKey, conversations });
        return { kind: "claimed", conversations };
      });
      await insertEvents(client, schema, events);
      if (keys.length > 0) {
        await client.query(
          `INSERT INTO ${schema}.claim_keys (campaign_id, texter_id, key, conversations, created_at)
           SELECT $1, t, k, c, $5 FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS x(t, k, c)`,
          [first.campaignId, keys.map((k) => k.texter), keys.map((k) => k.key), keys.map((k) => JSON.stringify(k.conversations)), first.now],
        );
      }
      return final;
    });
    if (outcomes === ONE_BY_ONE) return Promise.allSettled(reqs.map((r) => claim(pool, schema, r)));
    return outcomes.map((value) => ({ status: "fulfilled", value }));
  } catch (error) {
    // The commit's outcome is unknown for every member alike.
    if (error instanceof CommitOutcomeUnknown) return reqs.map(() => ({ status: "rejected", reason: error }));
    // Isolate the fault: run each member on its own; a member's own fault rejects only that member.
    return Promise.allSettled(reqs.map((r) => claim(pool, schema, r)));
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
      if (head.req.next === null) {
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

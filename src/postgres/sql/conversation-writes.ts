/**
 * Writes to named conversations: status changes and releases (M1, M2, S9), stale releases (T4) and
 * organization-wide opt-outs (O3). Each takes the shared lock of every campaign it touches (so it
 * never overlaps a campaign commit's moves, which lock rows in another order), locks exactly the rows
 * it changes, checks them, and writes them with their facts; the bulk-send rule (C6) counts off what
 * left `not_started`.
 * @module
 */
import { optOutFacts, unassignedFacts, updateFacts } from "../../storage/facts.js";
import type { StaleReleaseRequest } from "../../storage/capabilities.js";
import type { ConversationChangeResult, ConversationUpdate, OptOutOutcome, OptOutRequest, UpdateOutcome } from "../../storage/pool.js";
import { orderRank, parseConversationId, replyAtAfter, sortKey, statusCode } from "../../storage/rules.js";
import type { MoveSpec } from "../../core/moves.js";
import type { Conversation } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { settleBulkSend } from "./bulk-pending.js";
import { CAMPAIGN } from "./claim.js";
import { insertFacts } from "./facts.js";
import { campaignKey, lockCampaign, optOutKey } from "./locks.js";
import { CONVERSATION_COLUMNS, type ConversationRow, byCtid, columnsOf, sqlLimit, statusSql, toConversation } from "./rows.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

const NOT_STARTED = statusCode("not_started");

/**
 * Write conversations as they are now (status, rank, sort key, reply time, holder), in one statement,
 * by the `ctid` of the row versions the caller locked: a TID scan whatever the number of rows or the
 * statistics (`ctid = ANY($1)`, the rows as a parameter: see {@link byCtid}).
 */
async function writeConversations(client: PgClientLike, schema: string, changed: readonly Conversation[], ctids: ReadonlyMap<number, string>): Promise<void> {
  if (changed.length === 0) return;
  await client.query(
    `UPDATE ${schema}.conversations c
     SET status = u.status, rank = u.rank, sort_key = u.sort_key, reply_at = u.reply_at, assignee = u.assignee, assigned_at = u.assigned_at
     FROM unnest($1::tid[], $2::smallint[], $3::smallint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[])
          AS u(row_id, status, rank, sort_key, reply_at, assignee, assigned_at)
     WHERE c.ctid = u.row_id AND c.ctid = ANY($1::tid[])`,
    [
      changed.map((c) => ctids.get(c.seq)),
      changed.map((c) => statusCode(c.status)),
      changed.map((c) => orderRank(c.status)),
      changed.map((c) => sortKey(c)),
      changed.map((c) => c.replyAt),
      changed.map((c) => c.assigneeId),
      changed.map((c) => c.assignedAt),
    ],
  );
}

/**
 * Conversations of campaign `$1` by seq (`seqs`: the SQL of a bigint[] parameter), one primary-key
 * probe each, in the array's order; with `lock`, each locked `FOR UPDATE` as it is read (pass the
 * seqs sorted: rows lock in that order). Not `campaign_id = $1 AND seq = ANY(…)`: on a campaign the
 * statistics estimate at one row, that plan read the whole campaign and filtered the seqs. A probe
 * that cannot be flattened into a join (`FOR UPDATE`, or `OFFSET 0`) is one index lookup whatever the
 * estimate. Columns: `row_id` (the ctid), the conversation columns, `rank`, `sort_key`.
 */
export function bySeqSql(schema: string, seqs: string, options: { lock?: boolean; where?: string } = {}): string {
  return `SELECT c.* FROM unnest(${seqs}::bigint[]) AS s(seq) CROSS JOIN LATERAL (
    SELECT ctid AS row_id, ${CONVERSATION_COLUMNS}, rank, sort_key FROM ${schema}.conversations
    WHERE campaign_id = $1 AND seq = s.seq${options.where === undefined ? "" : ` AND ${options.where}`} ${options.lock === true ? "FOR UPDATE" : "OFFSET 0"}) c`;
}

/**
 * A bulk move (launch split, unassign all, reassign, sender removal; `commit-campaign.ts` runs it
 * under the campaign's exclusive lock): the rows of `move.from` matching its statuses, in hand-out
 * order, locked `FOR UPDATE` (waiting for in-flight row locks, so "all" means all), dealt round-robin
 * to `targets` (`$2`; none: unassigned) and updated by `ctid` ({@link byCtid}: a TID scan whatever
 * the number of rows or the statistics). Returns each row with `from_holder` and its place `n`.
 */
export function moveQuery(schema: string, campaignId: string, move: MoveSpec, targets: readonly string[], now: number): { text: string; values: unknown[] } {
  const source =
    move.from.kind === "unassigned" ? "assignee IS NULL AND rank <= 2" : move.from.kind === "all_holders" ? "assignee IS NOT NULL" : "assignee = ANY($4::text[])";
  const limit = move.limit === null ? "" : `LIMIT ${sqlLimit(move.limit)}`;
  return {
    text: `WITH picked AS MATERIALIZED (
       SELECT row_id, assignee AS from_holder, row_number() OVER (ORDER BY rank, sort_key, seq) AS n
       FROM (
         SELECT ctid AS row_id, assignee, rank, sort_key, seq FROM ${schema}.conversations
         WHERE campaign_id = ${CAMPAIGN} AND ${source} AND ${statusSql(move.statuses)}
         ORDER BY rank, sort_key, seq ${limit}
         FOR UPDATE OF conversations
       ) s
     ), dealt AS (
       SELECT row_id, from_holder, n,
              CASE WHEN cardinality($2::text[]) = 0 THEN NULL ELSE ($2::text[])[((n - 1) % cardinality($2::text[])) + 1] END AS to_holder
       FROM picked
     )
     UPDATE ${schema}.conversations c
     SET assignee = dealt.to_holder,
         assigned_at = CASE WHEN dealt.to_holder IS NULL THEN NULL
                            WHEN dealt.to_holder IS NOT DISTINCT FROM dealt.from_holder THEN c.assigned_at
                            ELSE $3::bigint END
     FROM dealt WHERE ${byCtid("dealt", "row_id")}
     RETURNING ${columnsOf("c")}, dealt.from_holder, dealt.n`,
    values: move.from.kind === "holders" ? [campaignId, targets, now, move.from.holderIds] : [campaignId, targets, now],
  };
}

/** One change applied to a conversation as it stands (the update's earlier changes included). */
function apply(current: Conversation, change: ConversationUpdate["changes"][number], now: number): ConversationChangeResult {
  if (change.heldBy !== undefined && (current.assigneeId === null || (change.heldBy !== null && current.assigneeId !== change.heldBy))) {
    return { kind: "not_held", current };
  }
  let after = current;
  if (change.status !== undefined) {
    if (!change.status.from.includes(current.status)) return { kind: "invalid", current };
    after = { ...after, status: change.status.to, replyAt: replyAtAfter(current, change.status.to, now) };
  }
  if (change.release === true) after = { ...after, assigneeId: null, assignedAt: null };
  return { kind: "changed", before: current, after };
}

/** Change named conversations of one campaign; see {@link ConversationUpdate}. */
export async function updateConversations(pool: PgPoolLike, schema: string, update: ConversationUpdate, tx: TxOptions): Promise<UpdateOutcome> {
  const seqs = update.changes.map((c) => {
    const key = parseConversationId(c.conversationId);
    return key === null || key.campaignId !== update.campaignId ? null : key.seq;
  });
  const wanted = [...new Set(seqs.filter((s): s is number => s !== null))].sort((a, b) => a - b);
  return transaction<UpdateOutcome>(
    pool,
    async (client) => {
      await lockCampaign(client, update.campaignId, "shared");
      const { rows } =
        wanted.length === 0
          ? { rows: [] as (ConversationRow & { row_id: string })[] }
          : await client.query<ConversationRow & { row_id: string }>(
              bySeqSql(schema, "$2", { lock: true }),
              [update.campaignId, wanted],
            );
      const initial = new Map(rows.map((r) => [Number(r.seq), toConversation(r)]));
      const ctids = new Map(rows.map((r) => [Number(r.seq), r.row_id]));
      const current = new Map(initial);
      const results = update.changes.map((change, i): ConversationChangeResult => {
        const seq = seqs[i];
        const conversation = seq === null || seq === undefined ? undefined : current.get(seq);
        if (conversation === undefined) return { kind: "not_found" };
        const result = apply(conversation, change, update.now);
        if (result.kind === "changed") current.set(seq!, result.after);
        return result;
      });
      if (update.atomic && results.some((r) => r.kind !== "changed")) return new Rollback({ applied: false, results });
      const changed = [...current.values()].filter((c) => c !== initial.get(c.seq));
      if (changed.length === 0) return new Rollback({ applied: true, results });
      await writeConversations(client, schema, changed, ctids);
      const pairs = results.flatMap((r) => (r.kind === "changed" ? [r] : []));
      await insertFacts(client, schema, updateFacts(update.context, update.releaseReason, pairs));
      const sent = changed.filter((c) => initial.get(c.seq)!.status === "not_started" && c.status !== "not_started").length;
      if (sent > 0) await settleBulkSend(client, schema, update.campaignId, sent, update.now);
      return { applied: true, results };
    },
    tx,
  );
}

/** Release idle held conversations (T4); see {@link StaleReleaseRequest}. Returns them as they were. */
export async function releaseStale(pool: PgPoolLike, schema: string, req: StaleReleaseRequest, tx: TxOptions): Promise<Conversation[]> {
  return transaction(
    pool,
    async (client) => {
      await lockCampaign(client, req.campaignId, "shared");
      const { rows } = await client.query<ConversationRow>(
        `WITH old AS MATERIALIZED (
           SELECT ctid AS row_id, seq, assignee, assigned_at FROM ${schema}.conversations
           WHERE campaign_id = ${CAMPAIGN} AND assignee IS NOT NULL AND rank <= 1 AND (
             (status = ${NOT_STARTED} AND $2::bigint IS NOT NULL AND assigned_at < $2::bigint) OR
             (status = ${statusCode("needs_reply")} AND $3::bigint IS NOT NULL AND greatest(assigned_at, reply_at) < $3::bigint))
           ORDER BY seq FOR UPDATE)
         UPDATE ${schema}.conversations c SET assignee = NULL, assigned_at = NULL
         FROM old WHERE ${byCtid("old", "row_id")}
         RETURNING c.campaign_id, c.seq, c.contact_id, c.status, old.assignee, old.assigned_at, c.reply_at, c.contact_tz`,
        [req.campaignId, req.notStartedBefore, req.needsReplyBefore],
      );
      const before = rows.map(toConversation).sort((a, b) => a.seq - b.seq);
      await insertFacts(client, schema, unassignedFacts(req.context, before, "stale_release"));
      return before;
    },
    tx,
  );
}

/** Opt a contact out in every campaign of the organization; see {@link OptOutRequest}. */
export async function optOut(pool: PgPoolLike, schema: string, req: OptOutRequest, tx: TxOptions): Promise<OptOutOutcome> {
  return transaction<OptOutOutcome>(
    pool,
    async (client) => {
      // One opt-out per organization at a time, and none while an import runs (imports take it shared).
      await client.query(`SELECT pg_advisory_xact_lock(${optOutKey("$1")})`, [req.orgId]);
      const inserted = await client.query(
        `INSERT INTO ${schema}.opt_outs (org_id, contact_id, at) VALUES ($1, $2, $3) ON CONFLICT (org_id, contact_id) DO NOTHING`,
        [req.orgId, req.contactId, req.now],
      );
      const alreadyOptedOut = inserted.rowCount === 0;
      // The shared lock of every campaign holding the contact, in order (no import can add one now).
      await client.query(
        `SELECT count(pg_advisory_xact_lock_shared(${campaignKey("k.campaign_id")})) FROM (
           SELECT k.campaign_id FROM ${schema}.campaign_contacts k
           WHERE k.campaign_id IN (SELECT id FROM ${schema}.campaigns WHERE org_id = $1) AND k.contact_id = $2
           ORDER BY k.campaign_id) k`,
        [req.orgId, req.contactId],
      );
      const { rows } = await client.query<ConversationRow>(
        `SELECT ${columnsOf("v")}
         FROM ${schema}.campaign_contacts k
         JOIN ${schema}.conversations v ON v.campaign_id = k.campaign_id AND v.seq = k.seq
         WHERE k.campaign_id IN (SELECT id FROM ${schema}.campaigns WHERE org_id = $1)
           AND k.contact_id = $2 AND v.status <> ${statusCode("opted_out")}
         ORDER BY v.campaign_id, v.seq FOR UPDATE OF v`,
        [req.orgId, req.contactId],
      );
      const before = rows.map(toConversation);
      if (rows.length > 0) {
        await client.query(
          `UPDATE ${schema}.conversations SET status = ${statusCode("opted_out")}, rank = ${orderRank("opted_out")}, reply_at = NULL, sort_key = seq
           WHERE (campaign_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
          [rows.map((r) => r.campaign_id), rows.map((r) => r.seq)],
        );
      }
      await insertFacts(client, schema, optOutFacts(req.context, req.contactId, before, alreadyOptedOut));
      const pendingBy = new Map<string, number>();
      for (const c of before) if (c.status === "not_started") pendingBy.set(c.campaignId, (pendingBy.get(c.campaignId) ?? 0) + 1);
      for (const [campaignId, n] of [...pendingBy].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        await settleBulkSend(client, schema, campaignId, n, req.now);
      }
      return { changed: before, alreadyOptedOut };
    },
    tx,
  );
}

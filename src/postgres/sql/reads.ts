/**
 * Reads of the conversation pool that change nothing: listings in hand-out order (filtered, paged by
 * the shared cursor) and the counts the overview is built from.
 * @module
 */
import type { ConversationCounts, ConversationPage, ConversationQuery } from "../../storage/pool.js";
import type { StatusSet } from "../../core/moves.js";
import { cursorOf, orderRank, parseConversationId, parseCursor, statusCode } from "../../storage/rules.js";
import { CONVERSATION_STATUSES, type ConversationStatus } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { CAMPAIGN } from "./claim.js";
import { bySeqSql } from "./conversation-writes.js";
import { CONVERSATION_COLUMNS, type ConversationRow, sqlLimit, statusSql, toConversation } from "./rows.js";
import { SharedClient, transaction } from "./transaction.js";

/** The rank condition a status filter implies (rank is a function of status), so it reads as an index range. */
function rankOf(statuses: StatusSet, status: ConversationStatus | undefined): string {
  if (status !== undefined) return `rank = ${orderRank(status)}`;
  switch (statuses) {
    case "needs_reply":
    case "not_started":
      return `rank = ${orderRank(statuses)}`;
    case "open":
      return "rank <= 2";
    default:
      return "TRUE";
  }
}

/**
 * Conversations in hand-out order (the stored `rank, sort_key, seq`), filtered and paged; see
 * {@link ConversationQuery}. Index-driven, whatever the campaign's size: unassigned rows read a range
 * of the unassigned index, a holder's a range of the holder index, each from the cursor on (a row
 * comparison on the index's order columns); with neither (and no ids), the unassigned range merged
 * with each holder's range (at most a page each, read from the holder index; the holders read from
 * the count rows, folded after the answer when they outgrow the holders as a count read folds them),
 * so an "any holder" page reads about a page per holder.
 */
export async function listConversations(db: PgPoolLike, schema: string, q: ConversationQuery): Promise<ConversationPage> {
  const limit = Number(sqlLimit(q.limit));
  const values: unknown[] = [q.campaignId];
  const param = (value: unknown) => `$${values.push(value)}`;
  const where = [statusSql(q.statuses), rankOf(q.statuses, q.status)];
  if (q.status !== undefined) where.push(`status = ${statusCode(q.status)}`);
  // Unassigned, one holder's, or (null) any holder's.
  const holder = q.holder === null ? "assignee IS NULL" : q.holder !== undefined ? `assignee = ${param(q.holder)}` : null;
  const seqs = q.ids?.map(parseConversationId).flatMap((k) => (k !== null && k.campaignId === q.campaignId ? [k.seq] : []));
  if (q.after !== undefined && q.after !== null) {
    const cursor = parseCursor(q.after);
    if (cursor === null) return { rows: [], cursor: null }; // not one of ours: an empty page (the contract)
    where.push(`(rank, sort_key, seq) > (${param(cursor.rank)}::smallint, ${param(cursor.sortKey)}::bigint, ${param(cursor.seq)}::bigint)`);
  }
  if (limit === 0) return { rows: [], cursor: null };
  let text: string;
  if (seqs !== undefined || q.contactIds !== undefined) {
    // Named rows: a primary-key probe each (see bySeqSql), filtered and sorted.
    const named =
      q.contactIds === undefined
        ? bySeqSql(schema, param(seqs))
        : `SELECT c.* FROM unnest(${param([...q.contactIds])}::text[]) AS x(contact_id)
           CROSS JOIN LATERAL (SELECT seq FROM ${schema}.campaign_contacts WHERE campaign_id = $1 AND contact_id = x.contact_id OFFSET 0) k
           CROSS JOIN LATERAL (${bySeqSql(schema, "ARRAY[k.seq]")}) c`;
    if (seqs !== undefined && q.contactIds !== undefined) where.push(`seq = ANY(${param(seqs)}::bigint[])`);
    text = `SELECT ${CONVERSATION_COLUMNS} FROM (${named}) n WHERE ${holder ?? "TRUE"} AND ${where.join(" AND ")} ORDER BY rank, sort_key, seq LIMIT ${limit + 1}`;
  } else {
    const part = (which: string) =>
      `SELECT ${CONVERSATION_COLUMNS}, rank, sort_key FROM ${schema}.conversations
       WHERE campaign_id = ${CAMPAIGN} AND ${which} AND ${where.join(" AND ")} ORDER BY rank, sort_key, seq LIMIT ${limit + 1}`;
    // Any holder: the unassigned range merged with each holder's first page (a range of the holder
    // index each). The holders come from the campaign's count rows (A1: written with every change,
    // folded now and then, so about one per holder and status), not from the table: a query over
    // "assignee IS NOT NULL" of a campaign is estimated at the table's held share, and with many held
    // rows in other campaigns it was planned as a sequential scan of every campaign's rows.
    // The read also says how many of those rows are deltas beyond one per holder (`folds`): a campaign
    // whose overview nobody reads is folded by its listings (else a page would sum two rows per claim
    // ever made).
    text =
      holder !== null
        ? part(holder)
        : `WITH h AS MATERIALIZED (SELECT assignee, sum(n) AS n, count(*) AS d FROM ${schema}.conversation_counts WHERE campaign_id = $1 AND assignee IS NOT NULL GROUP BY assignee)
           SELECT u.*, (SELECT sum(d) - count(*) FROM h) AS folds FROM ((${part("assignee IS NULL")}) UNION ALL (SELECT x.* FROM h CROSS JOIN LATERAL (${part("assignee = h.assignee")}) x WHERE h.n > 0)) u
           ORDER BY rank, sort_key, seq LIMIT ${limit + 1}`;
  }
  const { rows } = await db.query<ConversationRow & { folds?: string | null }>(text, values);
  if (rows[0]?.folds != null) foldIfOutgrown(db, schema, q.campaignId, Number(rows[0].folds));
  const page = rows.slice(0, limit).map(toConversation);
  return { rows: page, cursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null };
}

/**
 * Counts by holder and status (A1), summed from the campaign's delta rows in `conversation_counts`
 * (migration 8: statement triggers write them in every transaction that writes conversations), so
 * the cost follows the rows written since the last compaction, not the campaign's size. When more
 * than {@link COMPACT_AFTER} delta rows were read, they are folded into one row per group in the
 * background (the read does not wait for it).
 */
export async function countConversations(pool: PgPoolLike, schema: string, campaignId: string): Promise<ConversationCounts> {
  const { rows } = await pool.query<{ assignee: string | null; status: number; n: string; deltas: string }>(
    `SELECT assignee, status, sum(n) AS n, count(*) AS deltas FROM ${schema}.conversation_counts WHERE campaign_id = $1 GROUP BY assignee, status`,
    [campaignId],
  );
  foldIfOutgrown(pool, schema, campaignId, rows.reduce((sum, r) => sum + Number(r.deltas), 0) - rows.length);
  return { rows: rows.filter((r) => r.n !== "0").map((r) => ({ holder: r.assignee, status: CONVERSATION_STATUSES[r.status]!, count: Number(r.n) })) };
}

/** Delta rows beyond one per group that a count read leaves before it compacts the campaign's counts. */
export const COMPACT_AFTER = 1000;

/**
 * Maintenance after a read of a campaign's count rows that found `beyond` of them past one per group:
 * past {@link COMPACT_AFTER}, fold them in the background. The reader does not wait for the fold
 * (thousands of delta rows deleted and summed at peak), and a failure leaves the rows for the next read.
 */
function foldIfOutgrown(pool: PgPoolLike, schema: string, campaignId: string, beyond: number): void {
  if (beyond > COMPACT_AFTER) void compactCounts(pool, schema, campaignId).catch(() => undefined);
}

/**
 * Fold a campaign's count deltas into one row per (holder, status), unless another process is doing
 * it right now (a transaction-level try-lock: nobody waits). Rows inserted meanwhile are not in this
 * transaction's snapshot, so they are neither deleted nor summed: the totals never change. Never
 * inside a host's transaction (`withClient`): the next read or release outside one folds them.
 */
export async function compactCounts(pool: PgPoolLike, schema: string, campaignId: string): Promise<void> {
  if (pool instanceof SharedClient) return; // inside a host's transaction (withClient) the fold would hold its rows until the host commits
  await transaction(pool, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked", [`selfassign:counts:${schema}:${campaignId}`]);
    if (!rows[0]!.locked) return;
    await client.query(
      `WITH gone AS (DELETE FROM ${schema}.conversation_counts WHERE campaign_id = $1 RETURNING assignee, status, n)
       INSERT INTO ${schema}.conversation_counts (campaign_id, assignee, status, n)
       SELECT $1, assignee, status, sum(n) FROM gone GROUP BY assignee, status HAVING sum(n) <> 0`,
      [campaignId],
    );
  });
}

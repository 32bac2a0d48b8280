/**
 * Reads of the conversation pool that change nothing: listings in hand-out order (filtered, paged by
 * the shared cursor) and the counts the overview is built from.
 * @module
 */
import type { ConversationCounts, ConversationPage, ConversationQuery } from "../../storage/pool.js";
import { cursorOf, parseConversationId, parseCursor, statusCode } from "../../storage/rules.js";
import { CONVERSATION_STATUSES } from "../../types.js";
import type { Queryable } from "./aggregates.js";
import { CONVERSATION_COLUMNS, type ConversationRow, sqlLimit, statusSql, toConversation } from "./rows.js";

/** Conversations in hand-out order (the stored `rank, sort_key, seq`), filtered and paged; see {@link ConversationQuery}. */
export async function listConversations(db: Queryable, schema: string, q: ConversationQuery): Promise<ConversationPage> {
  const limit = Number(sqlLimit(q.limit));
  const values: unknown[] = [q.campaignId];
  const where = ["campaign_id = $1", statusSql(q.statuses)];
  const param = (value: unknown, sql: (p: string) => string) => {
    values.push(value);
    where.push(sql(`$${values.length}`));
  };
  if (q.holder === null) where.push("assignee IS NULL");
  else if (q.holder !== undefined) param(q.holder, (p) => `assignee = ${p}`);
  if (q.status !== undefined) where.push(`status = ${statusCode(q.status)}`);
  if (q.ids !== undefined) {
    const seqs = q.ids.map(parseConversationId).flatMap((k) => (k !== null && k.campaignId === q.campaignId ? [k.seq] : []));
    param(seqs, (p) => `seq = ANY(${p}::bigint[])`);
  }
  if (q.contactIds !== undefined) {
    param([...q.contactIds], (p) => `seq IN (SELECT seq FROM ${schema}.campaign_contacts WHERE campaign_id = $1 AND contact_id = ANY(${p}::text[]))`);
  }
  if (q.after !== undefined && q.after !== null) {
    const cursor = parseCursor(q.after);
    if (cursor === null) return { rows: [], cursor: null }; // not one of ours: an empty page (the contract)
    values.push(cursor.rank, cursor.sortKey, cursor.seq);
    const n = values.length;
    where.push(`(rank, sort_key, seq) > ($${n - 2}::smallint, $${n - 1}::bigint, $${n}::bigint)`);
  }
  if (limit === 0) return { rows: [], cursor: null };
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations WHERE ${where.join(" AND ")} ORDER BY rank, sort_key, seq LIMIT ${limit + 1}`,
    values,
  );
  const page = rows.slice(0, limit).map(toConversation);
  return { rows: page, cursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null };
}

/** Counts by holder and status (A1) in one grouped scan of the campaign. */
export async function countConversations(db: Queryable, schema: string, campaignId: string): Promise<ConversationCounts> {
  const { rows } = await db.query<{ assignee: string | null; status: number; n: string }>(
    `SELECT assignee, status, count(*) AS n FROM ${schema}.conversations WHERE campaign_id = $1 GROUP BY assignee, status`,
    [campaignId],
  );
  return { rows: rows.map((r) => ({ holder: r.assignee, status: CONVERSATION_STATUSES[r.status]!, count: Number(r.n) })) };
}

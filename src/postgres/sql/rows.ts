/**
 * Mapping between conversation rows and {@link Conversation}s, and the SQL fragments every statement
 * shares. The stored codes are the shared rules' (`selfassign/adapter`): `status` is `statusCode`,
 * `rank` is `orderRank`, `sort_key` is `sortKey`, so the index order is the hand-out order.
 * @module
 */
import type { StatusSet } from "../../core/moves.js";
import { conversationId, statusCode } from "../../storage/rules.js";
import type { Conversation } from "../../types.js";
import { CONVERSATION_STATUSES } from "../../types.js";

/** A SQL condition selecting a status set (`open` = not closed, not opted out). */
export function statusSql(set: StatusSet): string {
  switch (set) {
    case "all":
      return "TRUE";
    case "open":
      return "rank <= 2";
    case "started":
      return "rank IN (0, 2)";
    case "needs_reply":
      return `status = ${statusCode("needs_reply")}`;
    case "not_started":
      return `status = ${statusCode("not_started")}`;
  }
}

/** Inline a limit into SQL text only after proving it is a small whole number (no generic plan over `LIMIT $n`). */
export function sqlLimit(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new TypeError(`invalid limit ${n}`);
  return String(n);
}

/**
 * A position cursor (rosters, campaign listings): the position of the last row read, as text; `"0"`
 * for the start. A cursor this adapter did not make reads as past the end (the contract: an empty page).
 */
export function positionCursor(after: string | null | undefined): string {
  if (after === undefined || after === null) return "0";
  return typeof after === "string" && /^(0|[1-9][0-9]{0,17})$/.test(after) ? after : "9223372036854775807";
}

/** The columns every conversation query selects, in this order. */
export const CONVERSATION_COLUMNS = "campaign_id, seq, contact_id, status, assignee, assigned_at, reply_at, contact_tz";

/** {@link CONVERSATION_COLUMNS}, each qualified by a table alias. */
export function columnsOf(alias: string): string {
  return CONVERSATION_COLUMNS.split(", ").map((col) => `${alias}.${col}`).join(", ");
}

/**
 * The condition that joins the conversations an UPDATE writes (alias `c`) to the rows of the CTE
 * `source` by their `ctid` (its column `column`), written so that a TID scan is the only way in.
 * Joined on `ctid` alone, thousands of rows (a batch of 5,000, a group of claims, "unassign all", a
 * lease) were planned as a hash join over a sequential scan of the whole table, every campaign's rows;
 * the `ANY(ARRAY(…))` condition is a TID condition the planner uses at any size. (A join on
 * `(campaign_id, seq)` instead depends on what the statistics say about the campaign: an unanalyzed
 * one looks like one row, and such a join walked the whole campaign once per row.)
 */
export function byCtid(source: string, column = "ctid"): string {
  return `c.ctid = ${source}.${column} AND c.ctid = ANY(ARRAY(SELECT ${column} FROM ${source}))`;
}

/** A conversation row as `pg` returns it (bigint columns arrive as strings). */
export interface ConversationRow {
  campaign_id: string;
  seq: string | number;
  contact_id: string;
  status: number;
  assignee: string | null;
  assigned_at: string | number | null;
  reply_at: string | number | null;
  contact_tz: string | null;
}

/** A bigint column (a string from `pg`) or `null`, as a number. */
export const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** Row → Conversation. */
export function toConversation(row: ConversationRow): Conversation {
  return {
    id: conversationId(row.campaign_id, row.seq),
    campaignId: row.campaign_id,
    contactId: row.contact_id,
    status: CONVERSATION_STATUSES[row.status]!,
    assigneeId: row.assignee,
    assignedAt: num(row.assigned_at),
    replyAt: num(row.reply_at),
    contactTimeZone: row.contact_tz,
    seq: Number(row.seq),
  };
}

/**
 * Conversation rows: the columns, the mapping to and from {@link Conversation}, and status sets as SQL
 * conditions — all from the kit's shared rules (`orderRank`, `sortKey`, `statusCode`, `inStatusSet`),
 * so the stored `rank` and `sort_key` columns order rows exactly as the other adapters do.
 * @module
 */
import {
  CONVERSATION_STATUSES,
  conversationId,
  inStatusSet,
  orderRank,
  parseConversationId,
  sortKey,
  statusCode,
  type Campaign,
  type Conversation,
  type Organization,
  type StatusSet,
} from "../adapter.js";
import type { Connection } from "./database.js";

/** A stored conversation, its columns named as in {@link Conversation} (see {@link COLUMNS}); `status` is its code. */
export type ConversationRow = Omit<Conversation, "id" | "status"> & {
  /** Status code (`statusCode`). */
  readonly status: number;
};

/** The columns of a {@link ConversationRow}. */
export const COLUMNS =
  "campaign_id AS campaignId, seq, contact_id AS contactId, status, assignee AS assigneeId, assigned_at AS assignedAt, reply_at AS replyAt, contact_tz AS contactTimeZone";

/** Hand-out order (S4): the stored `orderRank`, `sortKey`, then import order. */
export const ORDER = "ORDER BY rank, sort_key, seq";

/** A row as a conversation. */
export function toConversation(r: ConversationRow): Conversation {
  return { ...r, id: conversationId(r.campaignId, r.seq), status: CONVERSATION_STATUSES[r.status]! };
}

/**
 * A status set (`all`, `open`, …) as a SQL condition, on `rank` too (the ranks of those statuses), so
 * an index in hand-out order is read one rank after another, from the first row that can match.
 */
export function statusCondition(set: StatusSet): string {
  if (set === "all") return "1";
  const statuses = CONVERSATION_STATUSES.filter((s) => inStatusSet(set, s));
  return `rank IN (${[...new Set(statuses.map(orderRank))].sort().join(", ")}) AND status IN (${statuses.map(statusCode).join(", ")})`;
}

/** Write a conversation's state: status (with its rank and sort key), reply time, holder. */
export function saveConversation(c: Connection, conv: Conversation): void {
  c.run(
    "UPDATE conversations SET status = ?, rank = ?, sort_key = ?, reply_at = ?, assignee = ?, assigned_at = ? WHERE campaign_id = ? AND seq = ?",
    statusCode(conv.status),
    orderRank(conv.status),
    sortKey(conv),
    conv.replyAt,
    conv.assigneeId,
    conv.assignedAt,
    conv.campaignId,
    conv.seq,
  );
}

/** Give conversations to a holder (or none) as of `now`; returns them as they are after. */
export function assign(c: Connection, rows: readonly ConversationRow[], holder: string | null, now: number): Conversation[] {
  return rows.map((r) => {
    const after: Conversation = { ...toConversation(r), assigneeId: holder, assignedAt: holder === null ? null : now };
    c.run("UPDATE conversations SET assignee = ?, assigned_at = ? WHERE campaign_id = ? AND seq = ?", after.assigneeId, after.assignedAt, r.campaignId, r.seq);
    return after;
  });
}

/** The row of a conversation id in a campaign, or `undefined` (an id of another campaign is not found). */
export function rowOf(c: Connection, campaignId: string, id: string): ConversationRow | undefined {
  const key = parseConversationId(id);
  if (key === null || key.campaignId !== campaignId) return undefined;
  return c.one<ConversationRow>(`SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND seq = ?`, campaignId, key.seq);
}

/** A stored campaign. Rows written before bulk-send state existed load with `bulkSend: null`. */
export function toCampaign(data: string): Campaign {
  const c = JSON.parse(data) as Campaign;
  return c.bulkSend === undefined ? { ...c, bulkSend: null } : c;
}

/** A stored organization. */
export function toOrganization(data: string): Organization {
  return JSON.parse(data) as Organization;
}

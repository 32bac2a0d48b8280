/**
 * Mapping between conversation rows and {@link Conversation}s, and the numeric codes stored.
 * @module
 */
import { handOutRank } from "../../core/policy.js";
import type { StatusSet } from "../../storage/contract.js";
import type { Conversation, ConversationStatus } from "../../types.js";
import { CONVERSATION_STATUSES } from "../../types.js";

/** Status code stored in `conversations.status` (index in CONVERSATION_STATUSES). */
export function statusCode(status: ConversationStatus): number {
  return CONVERSATION_STATUSES.indexOf(status);
}

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

/** Stored `rank`: hand-out rank 0–2, 3 closed, 4 opted out. */
export function rankOf(status: ConversationStatus): number {
  return handOutRank(status) ?? (status === "closed" ? 3 : 4);
}

/** The columns every conversation query selects, in this order. */
export const CONVERSATION_COLUMNS = "campaign_id, seq, contact_id, status, assignee, assigned_at, reply_at, contact_tz";

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

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** Conversation ids are `<campaignId>:<seq>`, as in the in-memory adapter. */
export function conversationId(campaignId: string, seq: number | string): string {
  return `${campaignId}:${seq}`;
}

/** Split a conversation id, or `null` when it is not one of ours. */
export function parseConversationId(id: string): { campaignId: string; seq: number } | null {
  const cut = id.lastIndexOf(":");
  if (cut <= 0) return null;
  const rest = id.slice(cut + 1);
  if (!/^(0|[1-9][0-9]{0,14})$/.test(rest)) return null;
  return { campaignId: id.slice(0, cut), seq: Number(rest) };
}

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

/** Hand-out order of conversations (rank, reply time for needs reply, import order). */
export function byHandOut(a: Conversation, b: Conversation): number {
  const ra = rankOf(a.status);
  const rb = rankOf(b.status);
  if (ra !== rb) return ra - rb;
  if (ra === 0 && a.replyAt !== b.replyAt) return (a.replyAt ?? 0) - (b.replyAt ?? 0);
  return a.seq - b.seq;
}

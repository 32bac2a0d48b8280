/**
 * Conversation reads: listings in hand-out order with keyset cursors (the kit's `cursorOf` /
 * `parseCursor`), look-ups by id or contact, and the counts the overview is built from.
 * @module
 */
import { CONVERSATION_STATUSES, compareHandOut, cursorOf, inStatusSet, isAfter, orderRank, parseConversationId, parseCursor, statusCode } from "../adapter.js";
import type { ConversationCounts, ConversationPage, ConversationQuery } from "../adapter.js";
import { type Connection, jsonList } from "./database.js";
import { COLUMNS, type ConversationRow, ORDER, toConversation } from "./rows.js";

/** The index in hand-out order for each kind of holder filter. */
const INDEX = { unassigned: "conversations_pool", holder: "conversations_holder", any: "conversations_order" } as const;

/**
 * A page of a campaign's conversations in hand-out order. Unfiltered by id or contact, the page is one
 * range of the index in that order for the holder filter — from `(rank, sort_key, seq) > cursor` (or
 * the first rank the statuses allow) up to their last rank — so a page costs its own rows, however deep.
 * With ids or contacts the few rows are read by key and ordered here (`compareHandOut`, `isAfter`). A
 * cursor this adapter did not give reads as the end: an empty last page.
 */
export function listConversations(c: Connection, q: ConversationQuery): ConversationPage {
  const given = q.after !== undefined && q.after !== null;
  const after = given ? parseCursor(q.after!) : null;
  const statuses = CONVERSATION_STATUSES.filter((s) => inStatusSet(q.statuses, s) && (q.status === undefined || s === q.status));
  if ((given && after === null) || statuses.length === 0) return { rows: [], cursor: null };
  const limit = Math.max(0, Math.floor(q.limit));
  const where = ["campaign_id = ?"];
  const params: unknown[] = [q.campaignId];
  if (q.holder === null) where.push("assignee IS NULL");
  else if (q.holder !== undefined) {
    where.push("assignee = ?");
    params.push(q.holder);
  }
  if (statuses.length < CONVERSATION_STATUSES.length) where.push(`status IN (${statuses.map(statusCode).join(", ")})`);
  let rows;
  if (q.ids !== undefined || q.contactIds !== undefined) {
    if (q.ids !== undefined) {
      where.push("seq IN (SELECT value FROM json_each(?))");
      params.push(jsonList(q.ids.map(parseConversationId).flatMap((k) => (k !== null && k.campaignId === q.campaignId ? [k.seq] : []))));
    }
    if (q.contactIds !== undefined) {
      where.push("contact_id IN (SELECT value FROM json_each(?))");
      params.push(jsonList(q.contactIds));
    }
    const found = c.all<ConversationRow>(`SELECT ${COLUMNS} FROM conversations WHERE ${where.join(" AND ")}`, ...params).map(toConversation);
    rows = (after === null ? found : found.filter((x) => isAfter(x, after))).sort(compareHandOut).slice(0, limit + 1);
  } else {
    const ranks = statuses.map(orderRank);
    const first = Math.min(...ranks);
    const from = after !== null && after.rank >= first ? after : { rank: first, sortKey: Number.MIN_SAFE_INTEGER, seq: -1 };
    where.push("(rank, sort_key, seq) > (?, ?, ?)", `rank <= ${Math.max(...ranks)}`);
    params.push(from.rank, from.sortKey, from.seq);
    const index = q.holder === null ? INDEX.unassigned : q.holder === undefined ? INDEX.any : INDEX.holder;
    rows = c.all<ConversationRow>(`SELECT ${COLUMNS} FROM conversations INDEXED BY ${index} WHERE ${where.join(" AND ")} ${ORDER} LIMIT ?`, ...params, limit + 1).map(toConversation);
  }
  const page = rows.slice(0, limit);
  return { rows: page, cursor: rows.length > limit && limit > 0 ? cursorOf(page[limit - 1]!) : null };
}

/** Counts by holder and status, grouped in place. */
export function countConversations(c: Connection, campaignId: string): ConversationCounts {
  const rows = c.all<{ holder: string | null; status: number; n: number }>(
    "SELECT assignee AS holder, status, count(*) AS n FROM conversations WHERE campaign_id = ? GROUP BY assignee, status",
    campaignId,
  );
  return { rows: rows.map((r) => ({ holder: r.holder, status: CONVERSATION_STATUSES[r.status]!, count: r.n })) };
}

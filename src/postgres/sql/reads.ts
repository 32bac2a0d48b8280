/**
 * Reads that change nothing: one conversation, listings in hand-out order, the overview counts,
 * idempotency keys, invite tokens.
 * @module
 */
import type { ListQuery } from "../../storage/contract.js";
import type { Conversation, ConversationStatus, ConversationsOverview } from "../../types.js";
import { CONVERSATION_STATUSES } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { sqlLimit } from "./claim.js";
import { CONVERSATION_COLUMNS, type ConversationRow, parseConversationId, statusCode, statusSql, toConversation } from "./rows.js";

/** One conversation, or `null`. */
export async function getConversation(pool: PgPoolLike, schema: string, id: string): Promise<Conversation | null> {
  const key = parseConversationId(id);
  if (key === null) return null;
  const { rows } = await pool.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations WHERE campaign_id = $1 AND seq = $2`,
    [key.campaignId, key.seq],
  );
  return rows[0] === undefined ? null : toConversation(rows[0]);
}

/** Conversations in hand-out order; see {@link ListQuery}. */
export async function listConversations(pool: PgPoolLike, schema: string, q: ListQuery): Promise<Conversation[]> {
  const holder = q.holderId === null ? "assignee IS NULL" : "assignee = $2";
  const { rows } = await pool.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations
     WHERE campaign_id = $1 AND ${holder} AND ${statusSql(q.statuses)}
     ORDER BY rank, sort_key, seq LIMIT ${sqlLimit(q.limit)}`,
    q.holderId === null ? [q.campaignId] : [q.campaignId, q.holderId],
  );
  return rows.map(toConversation);
}

/** Overview counts (A1) in one grouped scan of the campaign. */
export async function overview(pool: PgPoolLike, schema: string, campaignId: string): Promise<ConversationsOverview> {
  const { rows } = await pool.query<{ assignee: string | null; status: number; n: string; first: string | null }>(
    `SELECT assignee, status, count(*) AS n, min(assigned_at) AS first FROM ${schema}.conversations
     WHERE campaign_id = $1 GROUP BY assignee, status`,
    [campaignId],
  );
  const byStatus = Object.fromEntries(CONVERSATION_STATUSES.map((s) => [s, 0])) as Record<ConversationStatus, number>;
  const holders = new Map<string, { userId: string; held: number; notStarted: number; needsReply: number }>();
  let total = 0;
  let unassigned = 0;
  let unassignedNotStarted = 0;
  let unassignedNeedsReply = 0;
  const ns = statusCode("not_started");
  const nr = statusCode("needs_reply");
  for (const r of rows) {
    const n = Number(r.n);
    total += n;
    byStatus[CONVERSATION_STATUSES[r.status]!] += n;
    // Opted-out conversations count in the total only (O3, A1).
    if (r.status === statusCode("opted_out")) continue;
    if (r.assignee === null) {
      unassigned += n;
      if (r.status === ns) unassignedNotStarted += n;
      if (r.status === nr) unassignedNeedsReply += n;
      continue;
    }
    let h = holders.get(r.assignee);
    if (h === undefined) holders.set(r.assignee, (h = { userId: r.assignee, held: 0, notStarted: 0, needsReply: 0 }));
    h.held += n;
    if (r.status === ns) h.notStarted += n;
    if (r.status === nr) h.needsReply += n;
  }
  return {
    campaignId,
    total,
    unassigned,
    unassignedNotStarted,
    unassignedNeedsReply,
    byStatus,
    senders: [...holders.values()].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)),
  };
}

/** The stored result of an earlier claim with this key, or `null`. */
export async function findClaimByKey(
  pool: PgPoolLike,
  schema: string,
  campaignId: string,
  texterId: string,
  key: string,
): Promise<Conversation[] | null> {
  const { rows } = await pool.query<{ conversations: Conversation[] }>(
    `SELECT conversations FROM ${schema}.claim_keys WHERE campaign_id = $1 AND texter_id = $2 AND key = $3`,
    [campaignId, texterId, key],
  );
  return rows[0]?.conversations ?? null;
}

/** The campaign owning a current or revoked invite token, or `null`. */
export async function findCampaignIdByInviteToken(pool: PgPoolLike, schema: string, token: string): Promise<string | null> {
  const { rows } = await pool.query<{ campaign_id: string }>(
    `SELECT campaign_id FROM ${schema}.invite_tokens WHERE token = $1`,
    [token],
  );
  return rows[0]?.campaign_id ?? null;
}

/**
 * Bulk send (C6): leases of pending initial messages and their acknowledgements. A lease is one
 * statement over the partial index of pending rows, `FOR UPDATE … SKIP LOCKED`, so concurrent
 * workers never lease the same conversation; an expired lease (a crashed worker) is leased again.
 * @module
 */
import type { AcknowledgeOutcome, AcknowledgeRequest, LeaseRequest } from "../../storage/contract.js";
import type { Conversation } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { sqlLimit } from "./claim.js";
import { insertEvents } from "./events.js";
import { CONVERSATION_COLUMNS, type ConversationRow, parseConversationId, rankOf, statusCode, toConversation } from "./rows.js";
import { transaction } from "./transaction.js";

const PENDING = statusCode("not_started");
const c = (cols: string) => cols.split(", ").map((col) => `c.${col}`).join(", ");

/** Lease pending initial messages; see {@link LeaseRequest}. */
export async function leaseInitialSends(pool: PgPoolLike, schema: string, req: LeaseRequest): Promise<Conversation[]> {
  const { rows } = await pool.query<ConversationRow>(
    `WITH picked AS MATERIALIZED (
       SELECT seq FROM ${schema}.conversations
       WHERE campaign_id = $1 AND status = ${PENDING} AND (lease_until IS NULL OR lease_until <= $3)
       ORDER BY seq LIMIT ${sqlLimit(req.limit)}
       FOR UPDATE OF conversations SKIP LOCKED
     )
     UPDATE ${schema}.conversations c SET lease_owner = $2, lease_until = $4
     FROM picked WHERE c.campaign_id = $1 AND c.seq = picked.seq
     RETURNING ${c(CONVERSATION_COLUMNS)}`,
    [req.campaignId, req.workerId, req.now, req.now + req.leaseMs],
  );
  return rows.map(toConversation).sort((a, b) => a.seq - b.seq);
}

/** Acknowledge sent initial messages; see {@link AcknowledgeRequest}. */
export async function acknowledgeInitialSends(pool: PgPoolLike, schema: string, req: AcknowledgeRequest): Promise<AcknowledgeOutcome> {
  const keys = [...new Set(req.conversationIds)].map((id) => ({ id, key: parseConversationId(id) }));
  const seqs = keys.filter((k) => k.key !== null && k.key.campaignId === req.campaignId).map((k) => k.key!.seq);
  const result = await transaction(pool, async (client) => {
    const { rows } = await client.query<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations
       WHERE campaign_id = $1 AND seq = ANY($2::bigint[]) AND status = ${PENDING} AND lease_owner = $3
       ORDER BY seq FOR UPDATE`,
      [req.campaignId, seqs, req.workerId],
    );
    const sent = rows.map(toConversation);
    if (sent.length > 0) {
      await client.query(
        `UPDATE ${schema}.conversations SET status = ${statusCode("initial_sent")}, rank = ${rankOf("initial_sent")},
           sort_key = seq, lease_owner = NULL, lease_until = NULL
         WHERE campaign_id = $1 AND seq = ANY($2::bigint[])`,
        [req.campaignId, sent.map((x) => x.seq)],
      );
    }
    await insertEvents(client, schema, req.events(sent));
    const ok = new Set(sent.map((x) => x.id));
    return { sent, rejected: keys.map((k) => k.id).filter((id) => !ok.has(id)) };
  });
  // Counted after the commit, with a fresh snapshot: of two workers acknowledging the last sends at
  // once, each counting inside its own transaction would still see the other's as pending.
  const pending = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${schema}.conversations WHERE campaign_id = $1 AND status = ${PENDING}`,
    [req.campaignId],
  );
  return { ...result, pending: Number(pending.rows[0]!.n) };
}

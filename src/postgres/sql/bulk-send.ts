/**
 * Bulk send (C6): leases of pending initial messages and their acknowledgements, each under the
 * campaign's shared lock. A lease is one statement over the not-started range of the index of
 * unassigned rows (and the holder index for held ones), `FOR UPDATE … SKIP LOCKED`, so concurrent
 * workers never lease the same conversation; an expired lease (a crashed worker) is leased again.
 * @module
 */
import { acknowledgedFacts } from "../../storage/facts.js";
import type { AcknowledgeOutcome, AcknowledgeRequest, LeaseOutcome, LeaseRequest } from "../../storage/capabilities.js";
import { orderRank, parseConversationId, statusCode, zoneOpen } from "../../storage/rules.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { settleBulkSend } from "./bulk-pending.js";
import { insertFacts } from "./facts.js";
import { lockCampaign } from "./locks.js";
import { CAMPAIGN } from "./claim.js";
import { bySeqSql } from "./conversation-writes.js";
import { type ConversationRow, byCtid, columnsOf, sqlLimit, toConversation } from "./rows.js";
import { type TxOptions, transaction } from "./transaction.js";

const PENDING = statusCode("not_started");

/**
 * Lease pending initial messages; see {@link LeaseRequest}. Only while the campaign is bulk sending
 * (read under the lock, in the statement); contacts in zones closed now (T2) are skipped and reported.
 */
export async function leaseInitialSends(pool: PgPoolLike, schema: string, req: LeaseRequest, tx: TxOptions): Promise<LeaseOutcome> {
  return transaction(
    pool,
    async (client) => {
      await lockCampaign(client, req.campaignId, "shared");
      const rule = req.contactZones;
      const zones =
        rule === null
          ? []
          : (await client.query<{ tz: string }>(`SELECT tz FROM ${schema}.campaign_time_zones WHERE campaign_id = $1`, [req.campaignId])).rows.map((r) => r.tz);
      const open = rule === null ? null : zoneOpen(rule);
      const closed = open === null ? [] : zones.filter((z) => !open(z)).sort();
      // Pending rows (rank 1 is not_started) nobody holds are the not-started range of the index of
      // unassigned rows, in import order; held ones (none while a bulk send runs: C6 hands texters no
      // not-started work then) come from the holder index. Locked as read, updated by `ctid` (`byCtid`).
      const pending = (held: boolean) =>
        `SELECT ctid, seq FROM ${schema}.conversations
         WHERE campaign_id = ${CAMPAIGN} AND assignee IS ${held ? "NOT NULL" : "NULL"} AND rank = 1 AND (lease_until IS NULL OR lease_until <= $3)
           AND (contact_tz IS NULL OR NOT (contact_tz = ANY($5::text[])))
           AND EXISTS (SELECT 1 FROM ${schema}.campaigns WHERE id = $1 AND status = 'bulk_sending')
         ORDER BY ${held ? "seq" : "sort_key, seq"} LIMIT ${sqlLimit(req.limit)}
         FOR UPDATE OF conversations SKIP LOCKED`;
      const { rows } = await client.query<ConversationRow>(
        `WITH free AS MATERIALIZED (${pending(false)}), held AS MATERIALIZED (${pending(true)}),
         picked AS MATERIALIZED (SELECT ctid FROM (SELECT * FROM free UNION ALL SELECT * FROM held) u ORDER BY seq LIMIT ${sqlLimit(req.limit)})
         UPDATE ${schema}.conversations c SET lease_owner = $2, lease_until = $4
         FROM picked WHERE ${byCtid("picked")}
         RETURNING ${columnsOf("c")}`,
        [req.campaignId, req.workerId, req.now, req.now + req.leaseMs, closed],
      );
      const conversations = rows.map(toConversation).sort((a, b) => a.seq - b.seq);
      if (closed.length === 0 || conversations.length === req.limit) return { conversations, closedZones: [] };
      const waiting = await client.query<{ tz: string }>(
        `SELECT z.tz FROM unnest($2::text[]) AS z(tz)
         WHERE EXISTS (SELECT 1 FROM ${schema}.conversations v
                       WHERE v.campaign_id = ${CAMPAIGN} AND v.assignee IS NULL AND v.rank = 1 AND coalesce(v.contact_tz, '') = z.tz
                         AND (v.lease_until IS NULL OR v.lease_until <= $3))
            OR EXISTS (SELECT 1 FROM ${schema}.conversations v
                       WHERE v.campaign_id = ${CAMPAIGN} AND v.assignee IS NOT NULL AND v.rank = 1 AND v.contact_tz = z.tz)
         ORDER BY z.tz`,
        [req.campaignId, closed, req.now],
      );
      return { conversations, closedZones: waiting.rows.map((r) => r.tz) };
    },
    tx,
  );
}

/** Acknowledge sent initial messages; see {@link AcknowledgeRequest}. */
export async function acknowledgeInitialSends(pool: PgPoolLike, schema: string, req: AcknowledgeRequest, tx: TxOptions): Promise<AcknowledgeOutcome> {
  const keys = [...new Set(req.conversationIds)].map((id) => ({ id, key: parseConversationId(id) }));
  const seqs = keys.filter((k) => k.key !== null && k.key.campaignId === req.campaignId).map((k) => k.key!.seq);
  return transaction(
    pool,
    async (client) => {
      await lockCampaign(client, req.campaignId, "shared");
      const { rows } = await client.query<ConversationRow & { row_id: string }>(bySeqSql(schema, "$2", { lock: true, where: `status = ${PENDING} AND lease_owner = $3` }), [
        req.campaignId,
        [...seqs].sort((a, b) => a - b),
        req.workerId,
      ]);
      const sent = rows.map(toConversation);
      if (sent.length > 0) {
        await client.query(
          `UPDATE ${schema}.conversations SET status = ${statusCode("initial_sent")}, rank = ${orderRank("initial_sent")},
             sort_key = seq, lease_owner = NULL, lease_until = NULL
           WHERE ctid = ANY($1::tid[])`,
          [rows.map((r) => r.row_id)],
        );
      }
      await insertFacts(client, schema, acknowledgedFacts(req.context, sent));
      // The pending counter is updated under the campaign row's lock: of several workers acknowledging
      // the last sends at once, the last to get the lock sees 0 and finishes the bulk send (C6).
      const settled = await settleBulkSend(client, schema, req.campaignId, sent.length, req.now);
      // No counter (no bulk send running): count what is pending, exactly, under the shared lock.
      const pending = settled.finished === null && settled.pending === 0 ? await countPending(client, schema, req.campaignId) : settled.pending;
      const ok = new Set(sent.map((x) => x.id));
      return { sent, rejected: keys.map((k) => k.id).filter((id) => !ok.has(id)), pending, finished: settled.finished !== null };
    },
    tx,
  );
}

/** Pending rows (rank 1 is not_started): the not-started range of the unassigned index, and held ones from the holder index. */
async function countPending(client: PgClientLike, schema: string, campaignId: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM ${schema}.conversations WHERE campaign_id = ${CAMPAIGN} AND assignee IS NULL AND rank = 1)
          + (SELECT count(*) FROM ${schema}.conversations WHERE campaign_id = ${CAMPAIGN} AND assignee IS NOT NULL AND rank = 1) AS n`,
    [campaignId],
  );
  return Number(rows[0]!.n);
}

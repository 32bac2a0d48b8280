/**
 * The capability methods: bulk send (C6: leases of pending initial messages and their
 * acknowledgements, with the bulk-send rule) and stale release (T4), inside the caller's step.
 * @module
 */
import {
  acknowledgedFacts,
  orderRank,
  parseConversationId,
  statusCode,
  unassignedFacts,
  type AcknowledgeOutcome,
  type AcknowledgeRequest,
  type Conversation,
  type LeaseOutcome,
  type LeaseRequest,
  type StaleReleaseRequest,
} from "../adapter.js";
import { applyBulkSendRuleTo, getCampaign } from "./aggregates.js";
import { type Connection, jsonList } from "./database.js";
import { recordFacts } from "./facts.js";
import { closedZones } from "./pool.js";
import { COLUMNS, type ConversationRow, assign, toConversation } from "./rows.js";

const NOT_STARTED = statusCode("not_started");
const FREE = "(lease_until IS NULL OR lease_until <= ?)";

/** Lease pending initial messages, oldest import first, on the `conversations_pending` index; only while bulk sending. */
export function leaseInitialSends(c: Connection, req: LeaseRequest): LeaseOutcome {
  if (getCampaign(c, req.campaignId)?.status !== "bulk_sending") return { conversations: [], closedZones: [] };
  const closed = req.contactZones === null ? [] : closedZones(c, req.campaignId, req.contactZones).sort();
  const rows = c.all<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations INDEXED BY conversations_pending WHERE campaign_id = ? AND status = ${NOT_STARTED} AND ${FREE}
     ${closed.length === 0 ? "" : "AND (contact_tz IS NULL OR contact_tz NOT IN (SELECT value FROM json_each(?)))"} ORDER BY seq LIMIT ?`,
    req.campaignId,
    req.now,
    ...(closed.length === 0 ? [] : [jsonList(closed)]),
    Math.max(0, Math.floor(req.limit)),
  );
  for (const r of rows) c.run("UPDATE conversations SET lease_owner = ?, lease_until = ? WHERE campaign_id = ? AND seq = ?", req.workerId, req.now + req.leaseMs, r.campaignId, r.seq);
  const waiting = (zone: string) =>
    c.one(`SELECT 1 FROM conversations INDEXED BY conversations_zones WHERE campaign_id = ? AND status = ${NOT_STARTED} AND contact_tz = ? AND ${FREE} LIMIT 1`, req.campaignId, zone, req.now) !== undefined;
  return { conversations: rows.map(toConversation), closedZones: closed.filter(waiting) };
}

/** Acknowledge sent initial messages: each still pending and leased to the worker becomes `initial_sent`. */
export function acknowledgeInitialSends(c: Connection, req: AcknowledgeRequest): AcknowledgeOutcome {
  const sent: Conversation[] = [];
  const rejected: string[] = [];
  for (const id of new Set(req.conversationIds)) {
    const key = parseConversationId(id);
    const row =
      key === null || key.campaignId !== req.campaignId
        ? undefined
        : c.one<ConversationRow>(`SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND seq = ? AND status = ${NOT_STARTED} AND lease_owner = ?`, req.campaignId, key.seq, req.workerId);
    if (row === undefined) {
      rejected.push(id);
      continue;
    }
    sent.push(toConversation(row));
    c.run(
      `UPDATE conversations SET status = ${statusCode("initial_sent")}, rank = ${orderRank("initial_sent")}, sort_key = seq, lease_owner = NULL, lease_until = NULL
       WHERE campaign_id = ? AND seq = ?`,
      row.campaignId,
      row.seq,
    );
  }
  recordFacts(c, acknowledgedFacts(req.context, sent));
  const finished = applyBulkSendRuleTo(c, req.campaignId, req.now);
  const pending = c.one<{ n: number }>(`SELECT count(*) AS n FROM conversations WHERE campaign_id = ? AND status = ${NOT_STARTED}`, req.campaignId)!.n;
  return { sent, rejected, pending, finished };
}

/** Release held conversations idle since before their cutoffs (T4); returns them as they were before. */
export function releaseStale(c: Connection, req: StaleReleaseRequest): Conversation[] {
  const rows = c.all<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations INDEXED BY conversations_holder WHERE campaign_id = @campaign AND assignee IS NOT NULL AND (
       (status = ${NOT_STARTED} AND @notStarted IS NOT NULL AND assigned_at < @notStarted) OR
       (status = ${statusCode("needs_reply")} AND @needsReply IS NOT NULL AND max(assigned_at, reply_at) < @needsReply)
     ) ORDER BY seq`,
    { campaign: req.campaignId, notStarted: req.notStartedBefore, needsReply: req.needsReplyBefore },
  );
  const before = rows.map(toConversation);
  assign(c, rows, null, req.now);
  recordFacts(c, unassignedFacts(req.context, before, "stale_release"));
  return before;
}

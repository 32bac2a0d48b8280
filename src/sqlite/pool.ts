/**
 * The conversation pool's writes: import (C2, O3), claim (S3–S8, L3 — gate and cap by the kit's
 * `claimRoom`, hand-out in the stored order on the partial pool index, T2 by `zoneOpen`), changes to
 * named conversations (M1, M2, S9) and organization-wide opt-outs (O3), each with its facts and the
 * bulk-send rule, inside the caller's step.
 * @module
 */
import {
  claimFacts,
  claimRoom,
  conversationId,
  importedFacts,
  optOutFacts,
  orderRank,
  replyAtAfter,
  statusCode,
  updateFacts,
  zoneOpen,
  type ClaimOutcome,
  type ClaimRequest,
  type Conversation,
  type ConversationChangeResult,
  type ImportOutcome,
  type ImportRequest,
  type OptOutOutcome,
  type OptOutRequest,
  type UpdateOutcome,
  type ConversationUpdate,
  type ZoneRule,
} from "../adapter.js";
import { applyBulkSendRuleTo } from "./aggregates.js";
import { type Connection, Rollback, jsonList } from "./database.js";
import { recordFacts } from "./facts.js";
import { COLUMNS, type ConversationRow, ORDER, assign, rowOf, saveConversation, toConversation } from "./rows.js";

const NOT_STARTED = statusCode("not_started");
const OPTED_OUT = statusCode("opted_out");

/** The stored version and organization of a campaign, or `undefined`. */
function versionOf(c: Connection, campaignId: string): { version: number; org_id: string } | undefined {
  return c.one("SELECT version, org_id FROM campaigns WHERE id = ?", campaignId);
}

/** Import contacts in order; one statement per contact decides opted out (O3) or not started. */
export function importConversations(c: Connection, req: ImportRequest): ImportOutcome {
  const stored = versionOf(c, req.campaignId);
  if (stored === undefined || stored.version !== req.expectedVersion) return { kind: "conflict" };
  let seq = c.one<{ n: number }>("SELECT coalesce(max(seq) + 1, 0) AS n FROM conversations WHERE campaign_id = ?", req.campaignId)!.n;
  const insert = `INSERT OR IGNORE INTO conversations (campaign_id, seq, contact_id, status, rank, sort_key, contact_tz)
    SELECT @campaign, @seq, @contact, CASE WHEN o.contact_id IS NULL THEN ${NOT_STARTED} ELSE ${OPTED_OUT} END,
      CASE WHEN o.contact_id IS NULL THEN ${orderRank("not_started")} ELSE ${orderRank("opted_out")} END, @seq, @tz
    FROM (SELECT 1) LEFT JOIN opt_outs o ON o.org_id = @org AND o.contact_id = @contact`;
  const ids: { contactId: string; conversationId: string; created: boolean }[] = [];
  let created = 0;
  for (const contact of req.contacts) {
    const made = c.run(insert, { campaign: req.campaignId, seq, contact: contact.contactId, tz: contact.timeZone ?? null, org: stored.org_id }) > 0;
    if (made) created++;
    if (req.returnIds) {
      const at = made ? seq : c.one<{ seq: number }>("SELECT seq FROM conversations WHERE campaign_id = ? AND contact_id = ?", req.campaignId, contact.contactId)!.seq;
      ids.push({ contactId: contact.contactId, conversationId: conversationId(req.campaignId, at), created: made });
    }
    if (made) seq++;
  }
  const counts = { created, skipped: req.contacts.length - created };
  recordFacts(c, importedFacts(req.context, counts));
  return { kind: "imported", ...counts, ids };
}

/**
 * The zones (T2) of a campaign's pending initial messages that are closed by `rule`: the distinct
 * zones are found by one index seek each on `conversations_zones` (a loose index scan), then tested
 * with the kit's `zoneOpen`.
 */
export function closedZones(c: Connection, campaignId: string, rule: ZoneRule): string[] {
  const zones = c.all<{ tz: string }>(
    `WITH RECURSIVE z(tz) AS (
       SELECT (SELECT min(contact_tz) FROM conversations WHERE campaign_id = @campaign AND status = ${NOT_STARTED} AND contact_tz IS NOT NULL)
       UNION ALL
       SELECT (SELECT min(contact_tz) FROM conversations WHERE campaign_id = @campaign AND status = ${NOT_STARTED} AND contact_tz IS NOT NULL AND contact_tz > z.tz)
       FROM z WHERE z.tz IS NOT NULL
     ) SELECT tz FROM z WHERE tz IS NOT NULL`,
    { campaign: campaignId },
  );
  const open = zoneOpen(rule);
  return zones.map((z) => z.tz).filter((z) => !open(z));
}

/** The claim, decided and written in the caller's step (see `ClaimRequest` for the order of checks). */
export function claim(c: Connection, req: ClaimRequest): ClaimOutcome {
  const stored = versionOf(c, req.campaignId);
  if (stored === undefined || stored.version !== req.expectedVersion) return { kind: "conflict" };
  if (req.idempotencyKey !== null) {
    const previous = c.one<{ conversations: string }>(
      "SELECT conversations FROM claim_keys WHERE campaign_id = ? AND texter_id = ? AND key = ?",
      req.campaignId,
      req.texterId,
      req.idempotencyKey,
    );
    if (previous !== undefined) return { kind: "replayed", conversations: JSON.parse(previous.conversations) as Conversation[] };
  }
  let joined = false;
  if (req.join === null) {
    if (c.one("SELECT 1 FROM senders WHERE campaign_id = ? AND user_id = ?", req.campaignId, req.texterId) === undefined) return { kind: "refused", reason: "not_a_sender" };
  } else {
    if (c.one("SELECT 1 FROM members WHERE org_id = ? AND user_id = ?", stored.org_id, req.texterId) === undefined) return { kind: "refused", reason: "not_a_member" };
    joined = c.run("INSERT OR IGNORE INTO senders (campaign_id, user_id, added_at, via) VALUES (?, ?, ?, 'invite')", req.campaignId, req.texterId, req.now) > 0;
  }
  // What the texter holds, from the holder index alone (rank 0 is needs reply, rank 1 not started).
  const counts = c.one<{ held: number; notStarted: number; needsReply: number }>(
    "SELECT count(*) AS held, coalesce(sum(rank = 1), 0) AS notStarted, coalesce(sum(rank = 0), 0) AS needsReply FROM conversations WHERE campaign_id = ? AND assignee = ?",
    req.campaignId,
    req.texterId,
  )!;
  const room = claimRoom(req, counts);
  if (room.kind === "blocked") {
    recordFacts(c, claimFacts(req.context, req.join, joined, req.texterId, []));
    return { kind: "blocked", reason: room.reason, joined };
  }
  const ranks = [...new Set(req.ranks)].filter((r) => r === 0 || r === 1 || r === 2).sort();
  const closed = req.contactZones === null || !ranks.includes(1) ? [] : closedZones(c, req.campaignId, req.contactZones);
  const rows =
    ranks.length === 0
      ? []
      : c.all<ConversationRow>(
          `SELECT ${COLUMNS} FROM conversations INDEXED BY conversations_pool WHERE campaign_id = ? AND assignee IS NULL AND rank IN (${ranks.join(", ")})
           ${closed.length === 0 ? "" : "AND NOT (rank = 1 AND contact_tz IS NOT NULL AND contact_tz IN (SELECT value FROM json_each(?)))"} ${ORDER} LIMIT ?`,
          req.campaignId,
          ...(closed.length === 0 ? [] : [jsonList(closed)]),
          room.room,
        );
  const conversations = assign(c, rows, req.texterId, req.now);
  recordFacts(c, claimFacts(req.context, req.join, joined, req.texterId, conversations));
  if (req.idempotencyKey !== null && conversations.length > 0) {
    c.run("INSERT INTO claim_keys (campaign_id, texter_id, key, conversations) VALUES (?, ?, ?, ?)", req.campaignId, req.texterId, req.idempotencyKey, JSON.stringify(conversations));
  }
  return { kind: "claimed", conversations, joined };
}

/** Changes to named conversations, in order (each sees the ones before); all or nothing with `atomic`. */
export function updateConversations(c: Connection, u: ConversationUpdate): UpdateOutcome {
  const results: ConversationChangeResult[] = [];
  const changed: { before: Conversation; after: Conversation }[] = [];
  for (const change of u.changes) {
    const row = rowOf(c, u.campaignId, change.conversationId);
    if (row === undefined) {
      results.push({ kind: "not_found" });
      continue;
    }
    const current = toConversation(row);
    if (change.heldBy !== undefined && (change.heldBy === null ? current.assigneeId === null : current.assigneeId !== change.heldBy)) {
      results.push({ kind: "not_held", current });
      continue;
    }
    if (change.status !== undefined && !change.status.from.includes(current.status)) {
      results.push({ kind: "invalid", current });
      continue;
    }
    let after = current;
    if (change.status !== undefined) after = { ...after, status: change.status.to, replyAt: replyAtAfter(current, change.status.to, u.now) };
    if (change.release === true) after = { ...after, assigneeId: null, assignedAt: null };
    saveConversation(c, after);
    results.push({ kind: "changed", before: current, after });
    changed.push({ before: current, after });
  }
  if (u.atomic && changed.length < results.length) throw new Rollback<UpdateOutcome>({ applied: false, results });
  recordFacts(c, updateFacts(u.context, u.releaseReason, changed));
  if (changed.some((x) => x.before.status === "not_started" && x.after.status !== "not_started")) applyBulkSendRuleTo(c, u.campaignId, u.now);
  return { applied: true, results };
}

/** Opt a contact out in every campaign of the organization (O3); later imports arrive opted out. */
export function optOut(c: Connection, req: OptOutRequest): OptOutOutcome {
  const alreadyOptedOut = c.run("INSERT OR IGNORE INTO opt_outs (org_id, contact_id) VALUES (?, ?)", req.orgId, req.contactId) === 0;
  const rows = c.all<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations WHERE campaign_id IN (SELECT id FROM campaigns WHERE org_id = ?) AND contact_id = ? AND status <> ? ORDER BY campaign_id, seq`,
    req.orgId,
    req.contactId,
    OPTED_OUT,
  );
  const changed = rows.map(toConversation);
  for (const before of changed) saveConversation(c, { ...before, status: "opted_out", replyAt: null });
  recordFacts(c, optOutFacts(req.context, req.contactId, changed, alreadyOptedOut));
  for (const campaignId of new Set(changed.filter((x) => x.status === "not_started").map((x) => x.campaignId))) applyBulkSendRuleTo(c, campaignId, req.now);
  return { changed, alreadyOptedOut };
}

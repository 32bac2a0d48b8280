/**
 * Writes to named conversations: status changes (M1, M2), releases (S9) and organization-wide
 * opt-outs (O3). Each locks exactly the rows it changes, checks them, and writes with its events.
 * @module
 */
import type {
  OptOutOutcome,
  OptOutRequest,
  ReleaseOutcome,
  ReleaseRequest,
  StaleReleaseRequest,
  StatusChange,
  StatusOutcome,
} from "../../storage/contract.js";
import type { Conversation } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { settleBulkSend } from "./aggregates.js";
import { insertEvents } from "./events.js";
import { CONVERSATION_COLUMNS, type ConversationRow, parseConversationId, rankOf, statusCode, toConversation } from "./rows.js";
import { Rollback, transaction } from "./transaction.js";

/** Change one conversation's status; see {@link StatusChange}. */
export async function recordStatus(pool: PgPoolLike, schema: string, change: StatusChange): Promise<StatusOutcome> {
  const key = parseConversationId(change.conversationId);
  if (key === null || key.campaignId !== change.campaignId) return { kind: "not_found" };
  return transaction<StatusOutcome>(pool, async (client) => {
    const { rows } = await client.query<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations WHERE campaign_id = $1 AND seq = $2 FOR UPDATE`,
      [key.campaignId, key.seq],
    );
    if (rows[0] === undefined) return new Rollback({ kind: "not_found" });
    const before = toConversation(rows[0]);
    if (!change.allowedFrom.includes(before.status)) return new Rollback({ kind: "invalid", current: before });
    const replyAt = change.to === "needs_reply" ? (before.status === "needs_reply" ? before.replyAt! : change.now) : null;
    const rank = rankOf(change.to);
    const updated = await client.query<ConversationRow>(
      `UPDATE ${schema}.conversations SET status = $3::smallint, rank = $4::smallint, reply_at = $5::bigint,
         sort_key = ${rank === 0 ? "$5::bigint" : "seq"}
       WHERE campaign_id = $1 AND seq = $2 RETURNING ${CONVERSATION_COLUMNS}`,
      [key.campaignId, key.seq, statusCode(change.to), rank, replyAt],
    );
    const after = toConversation(updated.rows[0]!);
    await insertEvents(client, schema, change.events(before, after));
    if (before.status === "not_started") await settleBulkSend(client, schema, change.campaignId, 1, change.now);
    return { kind: "changed", before, after };
  });
}

/** Release named conversations; see {@link ReleaseRequest}. */
export async function release(pool: PgPoolLike, schema: string, req: ReleaseRequest): Promise<ReleaseOutcome> {
  const keys = req.conversationIds.map((id) => ({ id, key: parseConversationId(id) }));
  const foreign = keys.filter((k) => k.key === null || k.key.campaignId !== req.campaignId).map((k) => k.id);
  if (foreign.length > 0) return { kind: "not_found", conversationIds: foreign };
  const seqs = [...new Set(keys.map((k) => k.key!.seq))];
  return transaction<ReleaseOutcome>(pool, async (client) => {
    const { rows } = await client.query<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations WHERE campaign_id = $1 AND seq = ANY($2::bigint[])
       ORDER BY seq FOR UPDATE`,
      [req.campaignId, seqs],
    );
    const found = new Map(rows.map((r) => [Number(r.seq), toConversation(r)]));
    const missing = keys.filter((k) => !found.has(k.key!.seq)).map((k) => k.id);
    if (missing.length > 0) return new Rollback({ kind: "not_found", conversationIds: missing });
    const notHeld = keys
      .filter((k) => {
        const holder = found.get(k.key!.seq)!.assigneeId;
        return holder === null || (req.holderId !== null && holder !== req.holderId);
      })
      .map((k) => k.id);
    if (notHeld.length > 0) return new Rollback({ kind: "not_held", conversationIds: notHeld });
    await client.query(
      `UPDATE ${schema}.conversations SET assignee = NULL, assigned_at = NULL WHERE campaign_id = $1 AND seq = ANY($2::bigint[])`,
      [req.campaignId, seqs],
    );
    const before = seqs.map((s) => found.get(s)!);
    await insertEvents(client, schema, req.events(before));
    return { kind: "released", conversations: before };
  });
}

/** Release idle held conversations (T4); see {@link StaleReleaseRequest}. */
export async function releaseStale(pool: PgPoolLike, schema: string, req: StaleReleaseRequest): Promise<Conversation[]> {
  return transaction(pool, async (client) => {
    const { rows } = await client.query<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS} FROM ${schema}.conversations
       WHERE campaign_id = $1 AND assignee IS NOT NULL AND (
         (status = ${statusCode("not_started")} AND $2::bigint IS NOT NULL AND assigned_at < $2::bigint) OR
         (status = ${statusCode("needs_reply")} AND $3::bigint IS NOT NULL AND greatest(assigned_at, reply_at) < $3::bigint))
       ORDER BY seq FOR UPDATE`,
      [req.campaignId, req.notStartedBefore, req.needsReplyBefore],
    );
    const before = rows.map(toConversation);
    if (rows.length > 0) {
      await client.query(
        `UPDATE ${schema}.conversations SET assignee = NULL, assigned_at = NULL WHERE campaign_id = $1 AND seq = ANY($2::bigint[])`,
        [req.campaignId, rows.map((r) => r.seq)],
      );
    }
    await insertEvents(client, schema, req.events(before));
    return before;
  });
}

/** Opt a contact out in every campaign of the organization; see {@link OptOutRequest}. */
export async function optOut(pool: PgPoolLike, schema: string, req: OptOutRequest): Promise<OptOutOutcome> {
  return transaction<OptOutOutcome>(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`selfassign:opt-out:${req.orgId}`]);
    const inserted = await client.query(
      `INSERT INTO ${schema}.opt_outs (org_id, contact_id, at) VALUES ($1, $2, $3) ON CONFLICT (org_id, contact_id) DO NOTHING`,
      [req.orgId, req.contactId, req.now],
    );
    const alreadyOptedOut = inserted.rowCount === 0;
    const { rows } = await client.query<ConversationRow>(
      `SELECT ${CONVERSATION_COLUMNS.split(", ").map((c) => `v.${c}`).join(", ")}
       FROM ${schema}.campaign_contacts k
       JOIN ${schema}.conversations v ON v.campaign_id = k.campaign_id AND v.seq = k.seq
       WHERE k.campaign_id IN (SELECT id FROM ${schema}.campaigns WHERE org_id = $1)
         AND k.contact_id = $2 AND v.status <> ${statusCode("opted_out")}
       ORDER BY v.campaign_id, v.seq FOR UPDATE OF v`,
      [req.orgId, req.contactId],
    );
    const before = rows.map(toConversation);
    if (rows.length > 0) {
      await client.query(
        `UPDATE ${schema}.conversations SET status = ${statusCode("opted_out")}, rank = ${rankOf("opted_out")}, reply_at = NULL, sort_key = seq
         WHERE (campaign_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
        [rows.map((r) => r.campaign_id), rows.map((r) => r.seq)],
      );
    }
    await insertEvents(client, schema, req.events(before, alreadyOptedOut));
    const pendingBy = new Map<string, number>();
    for (const c of before) if (c.status === "not_started") pendingBy.set(c.campaignId, (pendingBy.get(c.campaignId) ?? 0) + 1);
    for (const [campaignId, n] of [...pendingBy].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await settleBulkSend(client, schema, campaignId, n, req.now);
    }
    return { changed: before, alreadyOptedOut };
  });
}

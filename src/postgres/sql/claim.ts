/**
 * The claim (S3): gate, cap, idempotency key and the hand-out in one transaction, serialized per
 * (campaign, texter) by an advisory lock, against a campaign version held with `FOR SHARE`.
 *
 * The hand-out is one statement on the partial index of unassigned open rows, avoiding the traps
 * measured here: the candidate set is a MATERIALIZED CTE (so `LIMIT` cannot be re-evaluated into
 * more rows, PostgreSQL bug #15715), locked `FOR UPDATE OF conversations SKIP LOCKED` (only that
 * table, and a concurrent claimer skips rows instead of waiting), and the validated limit is inlined
 * into the text so no generic plan is built over `LIMIT $n`.
 * @module
 */
import type { ClaimOutcome, ClaimRequest } from "../../storage/contract.js";
import type { Conversation } from "../../types.js";
import type { PgPoolLike } from "../pg-like.js";
import { checkVersion, writeCampaign } from "./aggregates.js";
import { insertEvents } from "./events.js";
import { CONVERSATION_COLUMNS, type ConversationRow, byHandOut, statusCode, toConversation } from "./rows.js";
import { Rollback, transaction } from "./transaction.js";
import { claimRoom } from "../../storage/claim-room.js";

const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");

/** True when a claim reads what its texter holds or did (gate, cap, holding none, idempotency key). */
export function needsState(req: ClaimRequest): boolean {
  return (
    req.onlyIfHoldingNone ||
    req.maxHeld !== null ||
    req.gate.maxNotStarted !== null ||
    req.gate.maxNeedsReply !== null ||
    req.idempotencyKey !== null
  );
}

/** Inline a limit into SQL text only after proving it is a small whole number. */
export function sqlLimit(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new TypeError(`invalid limit ${n}`);
  return String(n);
}

/** SQL condition for the allowed hand-out ranks (validated integers, inlined). */
export function rankSql(ranks: readonly number[] = [0, 1, 2]): string {
  if (ranks.some((r) => r !== 0 && r !== 1 && r !== 2)) throw new TypeError(`invalid ranks ${ranks.join(",")}`);
  return ranks.length === 3 ? "rank <= 2" : ranks.length === 0 ? "FALSE" : `rank IN (${ranks.join(", ")})`;
}

/** Which of these zones a claim's T2 test closes. */
export function closedOf(zones: readonly string[], req: ClaimRequest): string[] {
  const open = req.contactZoneOpen;
  return open === null ? [] : zones.filter((z) => !open(z));
}

/**
 * The claim when some contact zones are closed (T2). Scanning the pool index in hand-out order would
 * read through every closed-zone row ahead of the open ones; instead the candidates come from one
 * index scan per part — replies and the rest, not-started of unknown zone, and not-started of each
 * open zone (the per-zone index) — merged in hand-out order, then locked `FOR UPDATE OF c SKIP
 * LOCKED` with the conditions checked again on the locked rows. `$4` holds the closed zones.
 */
export function zonedClaimStatement(schema: string, limit: number, ranks: readonly number[], openZones: number): string {
  const n = sqlLimit(limit);
  const t = `${schema}.conversations`;
  const parts = ranks
    .filter((r) => r !== 1)
    .map(
      (r) => `(SELECT seq, rank, sort_key FROM ${t} WHERE campaign_id = $1 AND assignee IS NULL AND rank = ${r === 0 ? 0 : 2}
               ORDER BY sort_key, seq LIMIT ${n})`,
    );
  if (ranks.includes(1)) {
    // One scan of the per-zone index for contacts of unknown zone ('') and one for each open zone
    // (`$5`, element by element: each is a plan-time constant, so each scan uses the index in order).
    const zones = ["''", ...Array.from({ length: openZones }, (_, k) => `($5::text[])[${k + 1}]`)];
    for (const zone of zones) {
      parts.push(
        `(SELECT seq, rank, sort_key FROM ${t}
          WHERE campaign_id = $1 AND assignee IS NULL AND rank = 1 AND coalesce(contact_tz, '') = ${zone}
          ORDER BY sort_key, seq LIMIT ${n})`,
      );
    }
  }
  return `WITH candidates AS MATERIALIZED (
      SELECT seq, rank, sort_key FROM (${parts.join(" UNION ALL ")}) u
      WHERE cardinality($5::text[]) >= 0 -- $5 (open zones) is typed even when no part reads it
      ORDER BY rank, sort_key, seq LIMIT ${n}
    ), picked AS MATERIALIZED (
      SELECT c.seq FROM ${t} c JOIN candidates k ON c.campaign_id = $1 AND c.seq = k.seq
      WHERE c.assignee IS NULL AND c.rank = k.rank
        AND NOT (c.rank = 1 AND c.contact_tz IS NOT NULL AND c.contact_tz = ANY($4::text[]))
      ORDER BY k.rank, k.sort_key, k.seq
      FOR UPDATE OF c SKIP LOCKED
    )
    UPDATE ${t} c SET assignee = $2, assigned_at = $3
    FROM picked WHERE c.campaign_id = $1 AND c.seq = picked.seq
    RETURNING ${CONVERSATION_COLUMNS.split(", ").map((col) => `c.${col}`).join(", ")}`;
}

/** The bare claim statement (exported for the benchmark's ceiling measurement). */
export function claimStatement(schema: string, limit: number, ranks: readonly number[] = [0, 1, 2]): string {
  return `WITH picked AS MATERIALIZED (
      SELECT seq FROM ${schema}.conversations
      WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2 AND ${rankSql(ranks)}
      ORDER BY rank, sort_key, seq
      LIMIT ${sqlLimit(limit)}
      FOR UPDATE OF conversations SKIP LOCKED
    )
    UPDATE ${schema}.conversations c SET assignee = $2, assigned_at = $3
    FROM picked WHERE c.campaign_id = $1 AND c.seq = picked.seq
    RETURNING ${CONVERSATION_COLUMNS.split(", ").map((col) => `c.${col}`).join(", ")}`;
}

/** Run a claim; see {@link ClaimRequest}. */
export async function claim(pool: PgPoolLike, schema: string, req: ClaimRequest): Promise<ClaimOutcome> {
  return transaction<ClaimOutcome>(pool, async (client) => {
    // A claim that also writes the aggregate (an invite join) must lock it exclusively up front:
    // upgrading a shared lock later deadlocks against another claimer holding the same share.
    const mode = req.next === null ? "FOR SHARE" : "FOR UPDATE";
    // The gate, the cap, "holding none" and idempotency keys read what this texter holds or did, so
    // those claims are serialized per (campaign, texter) with an advisory lock taken after the row
    // lock, and read in the next statement with a fresh snapshot. A claim with none of them needs
    // neither the lock nor the read.
    const needsTexterState = needsState(req);
    const locked = await checkVersion(
      client,
      schema,
      req.campaignId,
      req.expectedVersion,
      mode,
      needsTexterState ? [req.campaignId, req.texterId] : undefined,
    );
    if (locked === null) return new Rollback({ kind: "conflict" });
    const counts = needsTexterState
      ? (
          await client.query<{ held: string; not_started: string; needs_reply: string; previous: Conversation[] | null }>(
            `SELECT count(*) AS held,
                    count(*) FILTER (WHERE status = ${NOT_STARTED}) AS not_started,
                    count(*) FILTER (WHERE status = ${NEEDS_REPLY}) AS needs_reply,
                    (SELECT conversations FROM ${schema}.claim_keys WHERE campaign_id = $1 AND texter_id = $2 AND key = $3) AS previous
             FROM ${schema}.conversations WHERE campaign_id = $1 AND assignee = $2`,
            [req.campaignId, req.texterId, req.idempotencyKey],
          )
        ).rows[0]!
      : { held: "0", not_started: "0", needs_reply: "0", previous: null };
    if (counts.previous !== null) return new Rollback({ kind: "replayed", conversations: counts.previous });
    if (req.next !== null) await writeCampaign(client, schema, req.next);
    const decided = claimRoom(req, {
      held: Number(counts.held),
      notStarted: Number(counts.not_started),
      needsReply: Number(counts.needs_reply),
    });
    if (decided.kind === "blocked") {
      // A blocked claim writes nothing of its own; with an aggregate to commit (a join) it still commits.
      if (req.next === null) return new Rollback<ClaimOutcome>(decided);
      await insertEvents(client, schema, req.events([]));
      return decided;
    }
    const room = decided.room;
    const zones = locked.zones;
    const closed = closedOf(zones, req);
    const open = zones.filter((z) => !closed.includes(z));
    const { rows } = await client.query<ConversationRow>(
      closed.length === 0 ? claimStatement(schema, room, req.ranks) : zonedClaimStatement(schema, room, req.ranks, open.length),
      closed.length === 0 ? [req.campaignId, req.texterId, req.now] : [req.campaignId, req.texterId, req.now, closed, open],
    );
    const conversations = rows.map(toConversation).sort(byHandOut);
    await insertEvents(client, schema, req.events(conversations));
    if (req.idempotencyKey !== null && conversations.length > 0) {
      await client.query(
        `INSERT INTO ${schema}.claim_keys (campaign_id, texter_id, key, conversations, created_at) VALUES ($1, $2, $3, $4, $5)`,
        [req.campaignId, req.texterId, req.idempotencyKey, JSON.stringify(conversations), req.now],
      );
    }
    if (conversations.length === 0 && req.next === null) return new Rollback<ClaimOutcome>({ kind: "claimed", conversations });
    return { kind: "claimed", conversations };
  });
}

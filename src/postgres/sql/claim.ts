/**
 * The claim (S3, L3): standing, gate, cap, idempotency key and the hand-out in one transaction,
 * under the campaign's shared advisory lock (a pause waits for claims in flight, and new claims queue
 * behind a waiting pause: `locks.ts`), serialized per (campaign, texter) by the texter's lock when
 * the claim reads what its texter holds. Everything the claim decides on is read in one statement
 * after the locks (a fresh snapshot): the version, the texter's sender row (or, for a join, member
 * row, locked `FOR KEY SHARE` so a removal waits), held counts, the key, the contact zones — O(1)
 * roster data, whatever the size of the organization.
 *
 * The hand-out is one statement on the partial index of unassigned open rows, avoiding the traps
 * measured here: the candidate set is a MATERIALIZED CTE (so `LIMIT` cannot be re-evaluated into
 * more rows, PostgreSQL bug #15715), locked `FOR UPDATE OF conversations SKIP LOCKED` (only that
 * table, and a concurrent claimer skips rows instead of waiting), and the validated limit is inlined
 * into the text so no generic plan is built over `LIMIT $n`.
 * @module
 */
import { claimFacts } from "../../storage/facts.js";
import type { ClaimOutcome, ClaimRequest } from "../../storage/pool.js";
import { type HeldCounts, claimRoom, compareHandOut, statusCode, zoneOpen } from "../../storage/rules.js";
import type { Conversation, Role } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { insertFacts } from "./facts.js";
import { lockCampaign } from "./locks.js";
import { joinSender } from "./rosters.js";
import { type ConversationRow, columnsOf, sqlLimit, toConversation } from "./rows.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");

/** True when a claim reads what its texter holds or did (a join's "holding none", gate, cap, idempotency key): it takes the texter's lock. */
export function needsState(req: ClaimRequest): boolean {
  return req.join !== null || req.maxHeld !== null || req.gate.maxNotStarted !== null || req.gate.maxNeedsReply !== null || req.idempotencyKey !== null;
}

/** SQL condition for the allowed hand-out ranks (validated integers, inlined). */
export function rankSql(ranks: readonly number[] = [0, 1, 2]): string {
  if (ranks.some((r) => r !== 0 && r !== 1 && r !== 2)) throw new TypeError(`invalid ranks ${ranks.join(",")}`);
  return ranks.length === 3 ? "rank <= 2" : ranks.length === 0 ? "FALSE" : `rank IN (${ranks.join(", ")})`;
}

/** Which of these zones a claim's T2 rule closes. */
export function closedOf(zones: readonly string[], req: ClaimRequest): string[] {
  if (req.contactZones === null) return [];
  const open = zoneOpen(req.contactZones);
  return zones.filter((z) => !open(z));
}

/** What a claim decides on, read in one statement under its locks. */
export interface ClaimState {
  /** The stored campaign version. */
  readonly version: number;
  /** The campaign's contact time zones (T2). */
  readonly zones: readonly string[];
  /** Which of the asked texters are senders. */
  readonly senders: ReadonlySet<string>;
  /** What each counted texter holds. */
  readonly held: ReadonlyMap<string, HeldCounts>;
  /** Earlier results by texter, for the asked idempotency keys. */
  readonly previous: ReadonlyMap<string, Conversation[]>;
  /** The joining member's role (`null`: not a member), locked `FOR KEY SHARE`. */
  readonly memberRole: Role | null;
}

/**
 * Read the state of claims on one campaign: sender rows of `reqs`' texters, held counts of `counted`
 * (one index probe each), keys, and the member row of `joiner`. `null` when the campaign is gone.
 * Per-texter parts are LATERAL probes that cannot be flattened into joins, so the plan never depends
 * on how many keys or conversations the campaign's statistics say it has.
 */
export async function readClaimState(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  reqs: readonly ClaimRequest[],
  counted: readonly string[],
  joiner: string | null,
): Promise<ClaimState | null> {
  const keyed = reqs.filter((r) => r.idempotencyKey !== null);
  const values: unknown[] = [campaignId, reqs.map((r) => r.texterId)];
  const param = (value: unknown) => `$${values.push(value)}`;
  // Only the parts these claims need (each one a relation a cold backend must open first).
  const parts = [
    "c.version",
    `(SELECT coalesce(array_agg(tz), '{}') FROM ${schema}.campaign_time_zones WHERE campaign_id = $1) AS zones`,
    `(SELECT coalesce(array_agg(user_id), '{}') FROM ${schema}.campaign_senders WHERE campaign_id = $1 AND user_id = ANY($2::text[])) AS senders`,
    counted.length === 0
      ? "'[]'::json AS held"
      : `(SELECT coalesce(json_agg(json_build_array(q.t, h.held, h.ns, h.nr)), '[]') FROM unnest(${param(counted)}::text[]) AS q(t)
           CROSS JOIN LATERAL (SELECT count(*) AS held, count(*) FILTER (WHERE status = ${NOT_STARTED}) AS ns,
                                      count(*) FILTER (WHERE status = ${NEEDS_REPLY}) AS nr
                               FROM ${schema}.conversations WHERE campaign_id = $1 AND assignee = q.t) h) AS held`,
    keyed.length === 0
      ? "'[]'::json AS previous"
      : `(SELECT coalesce(json_agg(json_build_array(q.t, k.conversations)), '[]')
           FROM unnest(${param(keyed.map((r) => r.texterId))}::text[], ${param(keyed.map((r) => r.idempotencyKey))}::text[]) AS q(t, key)
           CROSS JOIN LATERAL (SELECT conversations FROM ${schema}.claim_keys
                               WHERE campaign_id = $1 AND texter_id = q.t AND key = q.key LIMIT 1) k) AS previous`,
    joiner === null
      ? "NULL::text AS member"
      : `(SELECT m.role FROM ${schema}.org_members m WHERE m.org_id = c.org_id AND m.user_id = ${param(joiner)} FOR KEY SHARE) AS member`,
  ];
  const { rows } = await client.query<{
    version: number;
    zones: string[];
    senders: string[];
    held: [string, number, number, number][];
    previous: [string, Conversation[]][];
    member: Role | null;
  }>(`SELECT ${parts.join(",\n       ")} FROM ${schema}.campaigns c WHERE c.id = $1`, values);
  const row = rows[0];
  if (row === undefined) return null;
  return {
    version: row.version,
    zones: row.zones,
    senders: new Set(row.senders),
    held: new Map(row.held.map(([t, held, notStarted, needsReply]) => [t, { held: Number(held), notStarted: Number(notStarted), needsReply: Number(needsReply) }])),
    previous: new Map(row.previous),
    memberRole: row.member,
  };
}

/** The checks before the hand-out, in the contract's order: version, key, standing. `null`: go on. */
export function standing(req: ClaimRequest, state: ClaimState | null): ClaimOutcome | null {
  if (state === null || state.version !== req.expectedVersion) return { kind: "conflict" };
  const replay = state.previous.get(req.texterId);
  if (replay !== undefined) return { kind: "replayed", conversations: replay };
  if (req.join !== null) return state.memberRole === null ? { kind: "refused", reason: "not_a_member" } : null;
  return state.senders.has(req.texterId) ? null : { kind: "refused", reason: "not_a_sender" };
}

/**
 * The zoned claim statement, when some contact zones are closed (T2). Scanning the pool index in
 * hand-out order would read through every closed-zone row ahead of the open ones; instead the
 * candidates come from one index scan per part — replies and the rest, not-started of unknown zone,
 * and not-started of each open zone (the per-zone index) — merged in hand-out order, then locked
 * `FOR UPDATE OF c SKIP LOCKED` with the conditions checked again on the locked rows. `$4` holds the
 * closed zones, `$5` the open ones.
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
  if (parts.length === 0) parts.push(`(SELECT seq, rank, sort_key FROM ${t} WHERE FALSE)`);
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
    RETURNING ${columnsOf("c")}`;
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
    RETURNING ${columnsOf("c")}`;
}

/** Store a successful keyed claim's result under its key (S8), in the claim's transaction. */
export async function storeKeys(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  now: number,
  keys: readonly { texter: string; key: string; conversations: readonly Conversation[] }[],
): Promise<void> {
  if (keys.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.claim_keys (campaign_id, texter_id, key, conversations, created_at)
     SELECT $1, t, k, c, $5 FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS x(t, k, c)`,
    [campaignId, keys.map((k) => k.texter), keys.map((k) => k.key), keys.map((k) => JSON.stringify(k.conversations)), now],
  );
}

/** Run one claim; see {@link ClaimRequest}. */
export async function claim(pool: PgPoolLike, schema: string, req: ClaimRequest, tx: TxOptions): Promise<ClaimOutcome> {
  return transaction<ClaimOutcome>(
    pool,
    async (client) => {
      const serialize = needsState(req);
      await lockCampaign(client, req.campaignId, "shared", serialize ? [req.texterId] : []);
      const state = await readClaimState(client, schema, req.campaignId, [req], serialize ? [req.texterId] : [], req.join === null ? null : req.texterId);
      const stop = standing(req, state);
      if (stop !== null) return new Rollback(stop);
      // A join adds the sender row whatever comes of the claim (L3).
      const joined = req.join !== null && !state!.senders.has(req.texterId) && (await joinSender(client, schema, req.campaignId, req.texterId, req.now));
      const room = claimRoom(req, state!.held.get(req.texterId) ?? { held: 0, notStarted: 0, needsReply: 0 });
      if (room.kind === "blocked") {
        if (!joined) return new Rollback<ClaimOutcome>({ ...room, joined });
        await insertFacts(client, schema, claimFacts(req.context, req.join, joined, req.texterId, []));
        return { ...room, joined };
      }
      const closed = closedOf(state!.zones, req);
      const open = state!.zones.filter((z) => !closed.includes(z));
      const { rows } = await client.query<ConversationRow>(
        closed.length === 0 ? claimStatement(schema, room.room, req.ranks) : zonedClaimStatement(schema, room.room, req.ranks, open.length),
        closed.length === 0 ? [req.campaignId, req.texterId, req.now] : [req.campaignId, req.texterId, req.now, closed, open],
      );
      const conversations = rows.map(toConversation).sort(compareHandOut);
      // A claim that claims nothing and adds no sender writes nothing.
      if (conversations.length === 0 && !joined) return new Rollback<ClaimOutcome>({ kind: "claimed", conversations, joined });
      await insertFacts(client, schema, claimFacts(req.context, req.join, joined, req.texterId, conversations));
      if (req.idempotencyKey !== null && conversations.length > 0) {
        await storeKeys(client, schema, req.campaignId, req.now, [{ texter: req.texterId, key: req.idempotencyKey, conversations }]);
      }
      return { kind: "claimed", conversations, joined };
    },
    tx,
  );
}

/**
 * The one-round-trip claim. A texter's request that needs no idempotency key and is not a join — the
 * common repeat request — is sent as one simple query: BEGIN, the claim's locks, one statement that
 * reads, checks and hands out, COMMIT. After the locks, in one snapshot, that statement reads what the
 * usual claim (`claim.ts`) reads first — the version, the sender row, what the texter holds when the
 * gate or the cap needs it — and checks that the campaign has no contact zone this process has not
 * seen. When the usual claim would hand out a whole batch, it hands out exactly those rows and records
 * the facts in the same statement. Otherwise it writes nothing, and the outcome is decided from what
 * it read by the usual claim's own checks (`standing`, `claimRoom`): a conflict, a refusal or a block
 * in the same round trip; a new zone or a cap that leaves room for less than a batch runs the usual
 * claim.
 *
 * The COMMIT travels with everything else, so a connection lost while the query runs leaves the
 * outcome unknown (`CommitOutcomeUnknown`); a statement the server refuses does not (nothing after it
 * ran, the transaction is rolled back).
 * @module
 */
import { claimFacts } from "../../storage/facts.js";
import type { ClaimOutcome, ClaimRequest } from "../../storage/pool.js";
import type { Conversation } from "../../types.js";
import { claimRoom, compareHandOut, conversationId, statusCode } from "../../storage/rules.js";
import type { PgPoolLike, PgResultLike } from "../pg-like.js";
import { inlineValues } from "./batch.js";
import { CLAIM_COUNTED, claimCounts } from "./claim-counts.js";
import { CAMPAIGN, type ClaimState, claim, handOutCtes, needsState, openZonesOf, standing } from "./claim.js";
import { insertFactSql } from "./facts.js";
import type { PreparedStatements, PreparedUse } from "./prepared.js";
import { campaignLockSql } from "./locks.js";
import { byCtid, toConversation } from "./rows.js";
import { SharedClient, type TxOptions, oneQueryTransaction } from "./transaction.js";

/** Campaigns whose contact zones an adapter remembers (the least recently used is forgotten first). */
const KNOWN_CAMPAIGNS = 2_000;

/**
 * The contact zones (T2) of the campaigns an adapter's claims used most recently, as its usual claims
 * read them. A one-round-trip claim computes its open zones from them and checks, in its statement,
 * that the campaign has no other zone.
 */
export class KnownZones {
  private readonly zones = new Map<string, readonly string[]>();

  /** What the campaign's claims last read (and mark it used). */
  get(campaignId: string): readonly string[] | undefined {
    const zones = this.zones.get(campaignId);
    if (zones !== undefined) this.remember(campaignId, zones);
    return zones;
  }

  /** Remember what a claim read. */
  remember(campaignId: string, zones: readonly string[]): void {
    this.zones.delete(campaignId);
    this.zones.set(campaignId, zones);
    if (this.zones.size > KNOWN_CAMPAIGNS) this.zones.delete(this.zones.keys().next().value!);
  }
}

/**
 * True when a claim can take one round trip: a request (not a join) without an idempotency key, on a
 * campaign whose zones this adapter read, with no cap below the batch size (that cap never leaves room
 * for a whole batch: its claims go the usual way at once).
 */
function fastEligible(req: ClaimRequest, zones: readonly string[] | undefined): boolean {
  return req.join === null && req.idempotencyKey === null && (req.maxHeld === null || req.maxHeld >= req.limit) && (req.contactZones === null || zones !== undefined);
}

const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");

/**
 * The CTEs `st`, what the usual claim reads and decides on (`claim.ts`: version, sender row, held
 * counts when the gate or the cap needs them, and whether every contact zone of the campaign is among
 * `zones`), and `ok`, a row when it would hand out `req.limit` rows: the version is the expected one,
 * the texter is a sender, the gate passes, the cap leaves room for a whole batch and no zone is new.
 * Read in the statement's snapshot, after the locks.
 */
function stateCtes(schema: string, req: ClaimRequest, zones: readonly string[] | undefined, param: (value: unknown) => string): string[] {
  const zonesKnown =
    req.contactZones === null ? "TRUE" : `NOT EXISTS (SELECT FROM ${schema}.campaign_time_zones WHERE campaign_id = $1 AND tz <> ALL (${param(zones)}::text[]))`;
  const { maxNotStarted, maxNeedsReply } = req.gate;
  const room = [
    maxNotStarted === null ? null : `ns <= ${param(maxNotStarted)}`,
    maxNeedsReply === null ? null : `nr <= ${param(maxNeedsReply)}`,
    req.maxHeld === null ? null : `${param(req.maxHeld)} - held >= ${param(req.limit)}`,
  ].filter((x) => x !== null);
  const counts =
    room.length === 0
      ? "0 AS held, 0 AS ns, 0 AS nr"
      : `h.held, h.ns, h.nr FROM (SELECT count(*) AS held, count(*) FILTER (WHERE status = ${NOT_STARTED}) AS ns, count(*) FILTER (WHERE status = ${NEEDS_REPLY}) AS nr
           FROM ${schema}.conversations WHERE campaign_id = ${CAMPAIGN} AND assignee = $2) h`;
  return [
    `st AS MATERIALIZED (SELECT c.version, EXISTS (SELECT FROM ${schema}.campaign_senders WHERE campaign_id = ${CAMPAIGN} AND user_id = $2) AS sender,
       ${zonesKnown} AS zones_known, s.held, s.ns, s.nr
     FROM ${schema}.campaigns c, LATERAL (SELECT ${counts}) s WHERE c.id = $1)`,
    `ok AS MATERIALIZED (SELECT FROM st WHERE version = ${param(req.expectedVersion)} AND sender AND zones_known${room.map((r) => ` AND ${r}`).join("")})`,
  ];
}

/**
 * The one-round-trip statement's rows: one with the state (`version` null: no campaign) and `ok`, and
 * `seq` null; then one per handed-out row, with only the row's columns (in no order: sorted in Node,
 * cheaper than in the statement). The state is not repeated on every row: `pg` would parse it 300 times.
 */
interface FastRow {
  version: number | null;
  sender: boolean | null;
  zones_known: boolean | null;
  held: string | null;
  ns: string | null;
  nr: string | null;
  ok: boolean | null;
  seq: string | null;
  contact_id: string | null;
  status: number | null;
  reply_at: string | null;
  contact_tz: string | null;
}

/**
 * The outcome of a claim whose checks failed, as the usual claim decides it from the same reads
 * (`standing`, `claimRoom`); `null` when only the usual claim can answer (a cap that leaves room for
 * less than a batch, or a zone this adapter had not seen).
 */
function decide(req: ClaimRequest, row: FastRow): ClaimOutcome | null {
  const held = { held: Number(row.held), notStarted: Number(row.ns), needsReply: Number(row.nr) };
  const state: ClaimState | null =
    row.version === null
      ? null
      : { version: row.version, zones: [], senders: new Set(row.sender === true ? [req.texterId] : []), held: new Map([[req.texterId, held]]), previous: new Map(), memberRole: null };
  const stop = standing(req, state);
  if (stop !== null) return stop;
  // A block does not depend on zones; a hand-out does.
  const room = claimRoom(req, held);
  return room.kind === "blocked" ? { ...room, joined: false } : null;
}

/**
 * Try the claim in one round trip (see the module). `null`: a check failed and nothing was written;
 * run the usual claim. Never used inside a host's transaction.
 */
export async function fastClaim(pool: PgPoolLike, schema: string, req: ClaimRequest, tx: TxOptions, known: KnownZones, prepared?: PreparedStatements): Promise<ClaimOutcome | null> {
  const zones = req.contactZones === null ? undefined : known.get(req.campaignId);
  if (pool instanceof SharedClient || !fastEligible(req, zones)) return null;
  // The claim's facts, built for one placeholder conversation: the statement puts in the real ones.
  const placeholder = claimFacts(req.context, null, false, req.texterId, [{ id: conversationId(req.campaignId, 0), assigneeId: req.texterId } as never]);
  const openZones = zones === undefined ? null : openZonesOf(zones, req); // no zone rule (T2): none closed
  const { ctes, values, param } = handOutCtes(schema, { campaignId: req.campaignId, limit: req.limit, ranks: req.ranks, openZones, to: { texter: req.texterId }, now: req.now, guard: "EXISTS (SELECT FROM ok)" });
  const state = stateCtes(schema, req, zones, param);
  const seqs = "(SELECT string_agg(seq::text, ',' ORDER BY rank, sort_key, seq) FROM upd)";
  const facts = placeholder.length === 1 ? insertFactSql(schema, placeholder[0]!, seqs, "EXISTS (SELECT FROM upd)", param) : null;
  if (facts === null) return null;
  const statement = `WITH ${state.join(",\n")},
    ${ctes.join(",\n")},
    upd AS (UPDATE ${schema}.conversations c SET assignee = $2, assigned_at = $3 FROM picked WHERE ${byCtid("picked")}
            RETURNING c.seq, c.contact_id, c.status, c.reply_at, c.contact_tz, c.rank, c.sort_key),
    ins AS (${facts}),
    ${claimCounts(schema, "$2")}
    SELECT st.version, st.sender, st.zones_known, st.held, st.ns, st.nr, EXISTS (SELECT FROM ok) AS ok,
           NULL::bigint AS seq, NULL::text AS contact_id, NULL::smallint AS status, NULL::bigint AS reply_at, NULL::text AS contact_tz
    FROM (VALUES (1)) AS one (x) LEFT JOIN st ON TRUE
    UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, seq, contact_id, status, reply_at, contact_tz FROM upd`;
  const lock = campaignLockSql(req.campaignId, "shared", needsState(req) ? [req.texterId] : []);
  const sent: { use: PreparedUse | null } = { use: null };
  let results: PgResultLike<FastRow>[];
  try {
    results = await oneQueryTransaction<FastRow>(
      pool,
      (client) => {
        sent.use = prepared?.use(client, statement, values) ?? null;
        return [lock, CLAIM_COUNTED, ...(sent.use?.sql ?? [inlineValues(statement, values)])];
      },
      tx,
    );
  } catch (error) {
    if (sent.use !== null && prepared!.refused(sent.use, error)) return null; // nothing changed: the usual claim
    throw error;
  }
  if (sent.use !== null) prepared!.ran(sent.use);
  const rows = results[results.length - 1]!.rows;
  const read = rows.find((r) => r.seq === null)!;
  if (read.ok !== true) return decide(req, read);
  const conversations: Conversation[] = [];
  for (const r of rows) {
    // Field by field: spreading `pg`'s row objects cost more than the rest of the claim's JavaScript.
    if (r.seq !== null) conversations.push(toConversation({ campaign_id: req.campaignId, seq: r.seq, contact_id: r.contact_id!, status: r.status!, assignee: req.texterId, assigned_at: req.now, reply_at: r.reply_at, contact_tz: r.contact_tz }));
  }
  conversations.sort(compareHandOut);
  if (conversations.length > 0) tx.factsCommitted?.();
  return { kind: "claimed", conversations, joined: false };
}

/** A claim outside a host's transaction: in one round trip when it can be ({@link fastClaim}), else the usual way. */
export async function claimOne(pool: PgPoolLike, schema: string, req: ClaimRequest, tx: TxOptions, known: KnownZones, prepared?: PreparedStatements): Promise<ClaimOutcome> {
  return (await fastClaim(pool, schema, req, tx, known, prepared)) ?? claim(pool, schema, req, tx, known);
}

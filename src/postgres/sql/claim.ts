/**
 * The claim (S3, L3): standing, gate, cap, idempotency key and the hand-out in one transaction,
 * under the campaign's shared advisory lock (a pause waits for claims in flight, and new claims queue
 * behind a waiting pause: `locks.ts`), serialized per (campaign, texter) by the texter's lock when
 * the claim reads what its texter holds. Everything the claim decides on is read in one statement
 * after the locks (a fresh snapshot): the version, the texter's sender row (or, for a join, member
 * row, locked `FOR KEY SHARE` so a removal waits), held counts, the key, the contact zones — O(1)
 * roster data, whatever the size of the organization.
 *
 * The hand-out is one statement ({@link handOutQuery}): ordered ranges of the index of unassigned
 * rows, locked as they are read and skipped when locked, then updated by `ctid`.
 * @module
 */
import { claimFacts } from "../../storage/facts.js";
import type { ClaimOutcome, ClaimRequest } from "../../storage/pool.js";
import { type HeldCounts, claimRoom, compareHandOut, statusCode, zoneOpen } from "../../storage/rules.js";
import type { Conversation, Role } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { deferToCommit, lastResult, literal } from "./batch.js";
import type { KnownZones } from "./fast-claim.js";
import { insertFacts } from "./facts.js";
import { campaignLockSql } from "./locks.js";
import { joinSender } from "./rosters.js";
import { type ConversationRow, byCtid, columnsOf, sqlLimit, toConversation } from "./rows.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");

/**
 * The campaign parameter `$1` as range scans compare it: `(SELECT $1::text)`, an init-plan value the
 * planner cannot look up in the statistics, so it plans for an average campaign of the table (its
 * rows over its distinct campaigns) rather than for what the statistics say about this one. For a
 * campaign imported since the last ANALYZE they say one row, and plans made for one row walked whole
 * campaigns (a filter where an index range was meant, a sort of the campaign for one page).
 */
export const CAMPAIGN = "(SELECT $1::text)";

/** True when a claim reads what its texter holds or did (a join's "holding none", gate, cap, idempotency key): it takes the texter's lock. */
export function needsState(req: ClaimRequest): boolean {
  return req.join !== null || req.maxHeld !== null || req.gate.maxNotStarted !== null || req.gate.maxNeedsReply !== null || req.idempotencyKey !== null;
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
 * Take a claim's locks (the campaign's shared lock, then the locks of the `counted` texters: see
 * `lockCampaign`) and read the state of claims on the campaign: sender rows of `reqs`' texters, held
 * counts of `counted` (one index probe each), keys, and the member row of `joiner`. `null` when the
 * campaign is gone.
 *
 * One round trip: the values are inlined as literals, so the lock and the read go in one query (with
 * the transaction's BEGIN, see `batch.ts`); each statement of it takes its own snapshot, so the read
 * sees everything committed before the locks were granted. Per-texter parts are LATERAL probes that
 * cannot be flattened into joins, and the campaign is compared as an init-plan value (see
 * {@link CAMPAIGN}), so the plan never depends on what the statistics say about the campaign.
 */
export async function lockAndReadClaimState(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  reqs: readonly ClaimRequest[],
  counted: readonly string[],
  joiner: string | null,
): Promise<ClaimState | null> {
  const keyed = reqs.filter((r) => r.idempotencyKey !== null);
  const id = literal(campaignId);
  const campaign = `(SELECT ${id}::text)`;
  const texts = (xs: readonly string[]) => (xs.length === 0 ? "'{}'::text[]" : `ARRAY[${xs.map(literal).join(", ")}]::text[]`);
  // Only the parts these claims need (each one a relation a cold backend must open first).
  const parts = [
    "c.version",
    `(SELECT coalesce(array_agg(tz), '{}') FROM ${schema}.campaign_time_zones WHERE campaign_id = ${id}) AS zones`,
    `(SELECT coalesce(array_agg(user_id), '{}') FROM ${schema}.campaign_senders WHERE campaign_id = ${campaign} AND user_id = ANY(${texts(reqs.map((r) => r.texterId))})) AS senders`,
    counted.length === 0
      ? "'[]'::json AS held"
      : `(SELECT coalesce(json_agg(json_build_array(q.t, h.held, h.ns, h.nr)), '[]') FROM unnest(${texts(counted)}) AS q(t)
           CROSS JOIN LATERAL (SELECT count(*) AS held, count(*) FILTER (WHERE status = ${NOT_STARTED}) AS ns,
                                      count(*) FILTER (WHERE status = ${NEEDS_REPLY}) AS nr
                               FROM ${schema}.conversations WHERE campaign_id = ${campaign} AND assignee = q.t) h) AS held`,
    keyed.length === 0
      ? "'[]'::json AS previous"
      : `(SELECT coalesce(json_agg(json_build_array(q.t, k.conversations)), '[]')
           FROM unnest(${texts(keyed.map((r) => r.texterId))}, ${texts(keyed.map((r) => r.idempotencyKey!))}) AS q(t, key)
           CROSS JOIN LATERAL (SELECT conversations FROM ${schema}.claim_keys
                               WHERE campaign_id = ${id} AND texter_id = q.t AND key = q.key LIMIT 1) k) AS previous`,
    joiner === null
      ? "NULL::text AS member"
      : `(SELECT m.role FROM ${schema}.org_members m WHERE m.org_id = c.org_id AND m.user_id = ${literal(joiner)} FOR KEY SHARE) AS member`,
  ];
  type Row = {
    version: number;
    zones: string[];
    senders: string[];
    held: [string, number, number, number][];
    previous: [string, Conversation[]][];
    member: Role | null;
  };
  const text = `${campaignLockSql(campaignId, "shared", counted)};\nSELECT ${parts.join(",\n       ")} FROM ${schema}.campaigns c WHERE c.id = ${id}`;
  const row = lastResult(await client.query<Row>(text)).rows[0];
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

/** Who gets the rows of a hand-out: one texter, or several texters dealt consecutive rows in hand-out order. */
export type HandOutTo =
  | { readonly texter: string }
  | {
      /** Texters in queue order; texter `k` gets the rows numbered `first[k]..last[k]` (from 1, consecutive) in hand-out order. */
      readonly ranges: readonly { readonly texter: string; readonly first: number; readonly last: number }[];
    };

/** What a hand-out takes: see {@link handOutQuery}. */
export interface HandOut {
  /** The campaign. */
  readonly campaignId: string;
  /** Most rows. */
  readonly limit: number;
  /** Allowed ranks (0 needs reply, 1 not started, 2 the rest), as the engine asked. */
  readonly ranks: readonly number[];
  /** `null` when no contact zone is closed (T2); else the campaign's open zones (contacts of unknown zone are always open). */
  readonly openZones: readonly string[] | null;
  /** Who gets the rows. */
  readonly to: HandOutTo;
  /** `assigned_at`. */
  readonly now: number;
  /**
   * A SQL condition, evaluated once: when false, the hand-out takes no row and leaves the floor where it
   * is (the one-round-trip claim's checks, `fast-claim.ts`); when true, the floor moves only if the
   * hand-out takes rows. Absent: always true, and the floor moves on every hand-out.
   */
  readonly guard?: string;
  /**
   * A CTE over the updated rows (`upd`, with `RETURNING`'s columns: for several texters, those of
   * {@link DealtRow}) written with them: a claim's own count rows (`claim-counts.ts`).
   */
  readonly counts?: string;
}

/** A hand-out range's condition: at or above the campaign's pool floor (the CTE `f` of {@link floorCtes}), an index condition. */
const ABOVE_FLOOR = "(rank, sort_key, seq) >= ((SELECT rank FROM f), (SELECT sort_key FROM f), (SELECT seq FROM f))";

/**
 * The pool floor as the hand-out's snapshot sees it: `f0`, the campaign's floor row (none: the start,
 * rank -1), and `f`, the lowest of it and the campaign's lowering rows — no committed unassigned row
 * of rank <= 2 lies below `f` (see `pool_floors` in `migrations.ts`).
 */
function floorCtes(schema: string): string[] {
  return [
    // The zone floors (migration 11) count only when the last raise kept them (`zone_gen`): a raise that
    // reads no zone range, or one by a process that predates them, moves `gen` and leaves them behind.
    `f0 AS MATERIALIZED (SELECT rank, sort_key, seq, gen, CASE WHEN zone_gen = gen THEN zones ELSE '{}'::jsonb END AS zones FROM ${schema}.pool_floors WHERE campaign_id = $1)`,
    `f AS MATERIALIZED (SELECT rank, sort_key, seq FROM (
       SELECT coalesce((SELECT rank FROM f0), -1) AS rank, coalesce((SELECT sort_key FROM f0), 0) AS sort_key, coalesce((SELECT seq FROM f0), 0) AS seq
       UNION ALL (SELECT rank, sort_key, seq FROM ${schema}.pool_floor_lowers WHERE campaign_id = $1 ORDER BY rank, sort_key, seq LIMIT 1)
     ) u ORDER BY rank, sort_key, seq LIMIT 1)`,
  ];
}

/** Positions in a zone range: before every row, and past every row. */
const FIRST = "-9223372036854775808";
const PAST = "9223372036854775807";

/**
 * The zone ranges of a hand-out (`zones`, an SQL `text[]` of zone keys), migration 11: `lo`, the lowest
 * lowering row that may stand for not-started rows (rank <= 1), a lower bound for every zone's range;
 * `zb`, where each range starts (the zone's floor, or `lo` when lower; the start when the zone has no
 * floor); and `zm`, where each zone's floor moves: the first unassigned not-started row of the zone
 * the snapshot sees from there (none: past every row), one index probe per zone, read only when the
 * floor moves.
 */
function zoneRangeCtes(schema: string, zones: string): string[] {
  return [
    `lo AS MATERIALIZED (SELECT sort_key, seq FROM ${schema}.pool_floor_lowers WHERE campaign_id = $1 AND rank <= 1 ORDER BY sort_key, seq LIMIT 1)`,
    `zb AS MATERIALIZED (SELECT z.tz, b.sort_key, b.seq FROM unnest(${zones}) AS z(tz)
       CROSS JOIN LATERAL (SELECT sort_key, seq FROM (
         SELECT coalesce(((SELECT zones FROM f0) -> z.tz ->> 0)::bigint, ${FIRST}) AS sort_key, coalesce(((SELECT zones FROM f0) -> z.tz ->> 1)::bigint, ${FIRST}) AS seq
         UNION ALL SELECT sort_key, seq FROM lo
       ) u ORDER BY sort_key, seq LIMIT 1) b)`,
    `zm AS MATERIALIZED (SELECT zb.tz, m.sort_key, m.seq FROM zb CROSS JOIN LATERAL (SELECT sort_key, seq FROM (
       (SELECT sort_key, seq FROM ${schema}.conversations WHERE campaign_id = ${CAMPAIGN} AND assignee IS NULL AND rank = 1
          AND coalesce(contact_tz, '') = zb.tz AND (sort_key, seq) >= (zb.sort_key, zb.seq) ORDER BY sort_key, seq LIMIT 1)
       UNION ALL SELECT ${PAST}, ${PAST}
     ) u ORDER BY sort_key, seq LIMIT 1) m)`,
  ];
}

/** A zone range's condition: at or above where the range of `zone` starts (`zb`), an index condition. */
function aboveZoneFloor(zone: string): string {
  return `(sort_key, seq) >= ((SELECT sort_key FROM zb WHERE tz = ${zone}), (SELECT seq FROM zb WHERE tz = ${zone}))`;
}

/**
 * The zone floors after a raise by a hand-out that read zone ranges: each zone it read moves to its
 * `zm`; every other zone's floor comes down to `lo` when that is lower, since the raise deletes
 * the lowering rows.
 */
const ZONE_FLOORS_AFTER_RAISE = `(SELECT coalesce(jsonb_object_agg(tz, jsonb_build_array(sort_key, seq)), '{}'::jsonb) FROM (
       SELECT tz, sort_key, seq FROM zm
       UNION ALL
       SELECT e.key, k.sort_key, k.seq FROM jsonb_each((SELECT zones FROM f0)) e
       CROSS JOIN LATERAL (SELECT sort_key, seq FROM (SELECT (e.value ->> 0)::bigint AS sort_key, (e.value ->> 1)::bigint AS seq UNION ALL SELECT sort_key, seq FROM lo) u
                           ORDER BY sort_key, seq LIMIT 1) k
       WHERE e.key <> ALL (ARRAY(SELECT tz FROM zb))) z)`;

/**
 * Move the floor row to the first unassigned row of rank <= 2 the hand-out's snapshot sees at or above
 * `f` (`m`; none: rank 3, above every range), and delete the lowering rows that snapshot saw — all of
 * them lie at or below `m` or were taken. Rows other claims are taking look unassigned to the
 * snapshot, so the floor never passes a row that a claim rolling back leaves. Only when the floor row
 * is free at once (`SKIP LOCKED`: claims never wait for each other here) and still the version the
 * snapshot saw (`gen`: a raise committed since, by a claim that saw later lowering rows, is not
 * undone from an older snapshot). Lowering rows inserted after the snapshot are kept.
 */
function raiseFloorCtes(schema: string, guard: string | undefined, zoned: boolean): string[] {
  const t = `${schema}.conversations`;
  return [
    `m AS MATERIALIZED (SELECT rank, sort_key, seq FROM (
       (SELECT rank, sort_key, seq FROM ${t} WHERE campaign_id = ${CAMPAIGN} AND assignee IS NULL AND rank <= 2 AND ${ABOVE_FLOOR}
        ORDER BY rank, sort_key, seq LIMIT 1)
       UNION ALL SELECT 3, 0, 0
     ) u ORDER BY rank, sort_key, seq LIMIT 1)`,
    `fl AS MATERIALIZED (SELECT ctid FROM ${schema}.pool_floors WHERE campaign_id = $1 AND gen = (SELECT gen FROM f0)${guard === undefined ? "" : ` AND ${guard}`} FOR UPDATE SKIP LOCKED)`,
    // A hand-out that read no zone range leaves the zone floors as they are: `gen` moves past `zone_gen`.
    `raised AS (UPDATE ${schema}.pool_floors p SET rank = m.rank, sort_key = m.sort_key, seq = m.seq, gen = p.gen + 1${zoned ? `,
         zones = ${ZONE_FLOORS_AFTER_RAISE}, zone_gen = p.gen + 1` : ""} FROM m
       WHERE p.campaign_id = $1 AND EXISTS (SELECT FROM fl) RETURNING 1)`,
    `dropped AS (DELETE FROM ${schema}.pool_floor_lowers WHERE campaign_id = $1 AND EXISTS (SELECT FROM raised))`,
  ];
}

/** One ordered index range of unassigned rows a hand-out reads, best rows first. */
interface Range {
  readonly where: string;
  readonly order: string;
}

/**
 * The hand-out: up to `limit` unassigned rows in hand-out order (S4), assigned in one statement.
 *
 * Rows are locked as the index is read (`FOR UPDATE … SKIP LOCKED` on each ordered range), so
 * concurrent hand-outs skip each other's rows and each takes the next free ones: a hand-out comes
 * back short only when other claims hold the rows it skipped (S3). Ranks are read one range after
 * another, each limited to what the earlier ones left (so no rank locks rows it does not take); with
 * closed contact zones (T2) not-started rows come from one range of the per-zone index per open zone
 * (and one for contacts of unknown zone) merged in import order, so closed zones are never walked.
 * A merge locks at most the rows it returns plus what the other open zones' ranges read ahead.
 *
 * The rows are then updated by `ctid` (a TID scan, see {@link byCtid}): no join whose plan depends on what the
 * statistics think the campaign holds (an unanalyzed campaign looks like one row, and a join over
 * `(campaign_id, seq)` then walked the whole campaign for every row). The validated limit is inlined
 * (no generic plan over `LIMIT $n`); a MATERIALIZED CTE keeps `LIMIT` from being re-evaluated into
 * more rows (PostgreSQL bug #15715); `FOR UPDATE OF conversations` locks only that table.
 */
export function handOutQuery(schema: string, h: HandOut): { text: string; values: unknown[] } {
  const { ctes, values, param } = handOutCtes(schema, h);
  // The UPDATE as the statement, or as the CTE `upd` that `counts` reads.
  const statement = (update: string) => (h.counts === undefined ? `WITH ${ctes.join(",\n")}\n${update}` : `WITH ${ctes.join(",\n")},\nupd AS (${update}),\n${h.counts}\nSELECT * FROM upd`);
  if ("texter" in h.to) {
    return { text: statement(`UPDATE ${schema}.conversations c SET assignee = $2, assigned_at = $3 FROM picked WHERE ${byCtid("picked")} RETURNING ${columnsOf("c")}`), values };
  }
  // Texter k gets the rows numbered first[k] up to first[k + 1] - 1: `width_bucket` finds k (no join).
  const ranges = h.to.ranges;
  const firsts = ranges.map((r, k) => {
    if (r.first !== (k === 0 ? 1 : ranges[k - 1]!.last + 1) || r.last < r.first) throw new TypeError("hand-out ranges must be consecutive, from 1");
    return r.first;
  });
  const first = param(firsts);
  ctes.push(`numbered AS (SELECT ctid, width_bucket((row_number() OVER (ORDER BY rank, sort_key, seq))::int, ${first}::int[]) AS member FROM picked)`);
  const update = `UPDATE ${schema}.conversations c SET assignee = ($2::text[])[numbered.member], assigned_at = $3
      FROM numbered WHERE ${byCtid("numbered")} RETURNING ${DEALT_COLUMNS}`;
  return { text: statement(update), values };
}

/**
 * What a hand-out to several texters returns per row ({@link DealtRow}): only what differs from row to
 * row. The campaign, the time and the texter's id are the same for thousands of rows; `pg` would parse
 * each of them once per row.
 */
const DEALT_COLUMNS = "c.seq, c.contact_id, c.status, c.reply_at, c.contact_tz, numbered.member";

/** A row dealt by a hand-out to several texters: `member` is the texter's place in `ranges`, from 1. */
export interface DealtRow {
  seq: string;
  contact_id: string;
  status: number;
  reply_at: string | null;
  contact_tz: string | null;
  member: number;
}

/**
 * The CTEs of {@link handOutQuery} up to `picked` (the rows to hand out, locked, with their `ctid`,
 * `rank`, `sort_key` and `seq`) and the floor's move; `$1` is the campaign, `$2` the texter (or texters),
 * `$3` the time; `param` adds a value.
 */
export function handOutCtes(schema: string, h: HandOut): { ctes: string[]; values: unknown[]; param: (value: unknown) => string } {
  const n = sqlLimit(h.limit);
  const t = `${schema}.conversations`;
  const values: unknown[] = [h.campaignId, "texter" in h.to ? h.to.texter : h.to.ranges.map((r) => r.texter), h.now];
  const param = (value: unknown) => `$${values.push(value)}`;
  const ranks = [...new Set(h.ranks)].sort((a, b) => a - b);
  if (ranks.some((r) => r !== 0 && r !== 1 && r !== 2)) throw new TypeError(`invalid ranks ${ranks.join(",")}`);
  // The campaign's pool floor (see `pool_floors` in `migrations.ts`): ranges of the unassigned index
  // start there, not at the dead entries of rows claimed since the last VACUUM.
  const ctes: string[] = [...floorCtes(schema)];
  const guard = h.guard === undefined ? "" : ` AND ${h.guard}`;
  const lockScan = (r: Range, limit: string, index: "pool" | "zone" = "pool") =>
    `SELECT ctid, rank, sort_key, seq FROM ${t} WHERE campaign_id = ${CAMPAIGN} AND assignee IS NULL AND ${r.where}${index === "pool" ? ` AND ${ABOVE_FLOOR}` : ""}${guard} ORDER BY ${r.order} LIMIT ${limit} FOR UPDATE OF conversations SKIP LOCKED`;
  const taken: string[] = []; // the CTEs whose rows are handed out, best first
  let zoned = false; // whether the hand-out reads zone ranges
  if (ranks.length === 3 && h.openZones === null) {
    // The common case: one range of the unassigned index, already in hand-out order.
    ctes.push(`s AS MATERIALIZED (${lockScan({ where: "rank <= 2", order: "rank, sort_key, seq" }, n)})`);
    taken.push("s");
  } else {
    const zones = h.openZones === null ? null : param(h.openZones);
    for (const rank of ranks) {
      // What is left after the ranks before this one (a plan-time constant for the first).
      const left = taken.length === 0 ? n : `(${n} - ${taken.map((c) => `(SELECT count(*) FROM ${c})`).join(" - ")})`;
      const name = `s${rank}`;
      if (rank !== 1 || zones === null) {
        ctes.push(`${name} AS MATERIALIZED (${lockScan({ where: `rank = ${rank}`, order: "sort_key, seq" }, left)})`);
      } else {
        // One range of the per-zone index for unknown zones and one per open zone (each zone a
        // plan-time constant, so each scan reads its index range in order), merged in import order.
        // Each range starts at its zone's floor (migration 11), not at the dead entries of the zone's
        // rows claimed since the last VACUUM.
        ctes.push(...zoneRangeCtes(schema, `array_prepend('', ${zones}::text[])`));
        zoned = true;
        const parts = ["''", ...h.openZones!.map((_, k) => `(${zones}::text[])[${k + 1}]`)].map((zone, k) => {
          ctes.push(`${name}_${k} AS MATERIALIZED (${lockScan({ where: `rank = 1 AND coalesce(contact_tz, '') = ${zone} AND ${aboveZoneFloor(zone)}`, order: "sort_key, seq" }, left, "zone")})`);
          return `SELECT * FROM ${name}_${k}`;
        });
        ctes.push(`${name} AS MATERIALIZED (SELECT * FROM (${parts.join(" UNION ALL ")}) u ORDER BY sort_key, seq LIMIT ${left})`);
      }
      taken.push(name);
    }
  }
  if (taken.length === 0) ctes.push(`s AS MATERIALIZED (SELECT ctid, rank, sort_key, seq FROM ${t} WHERE campaign_id = $1 AND FALSE)`), taken.push("s");
  // Under a guard, the floor moves only with a hand-out that takes rows: a claim that takes nothing
  // writes nothing (the usual claim rolls it back).
  ctes.push(`picked AS MATERIALIZED (${taken.map((c) => `SELECT * FROM ${c}`).join(" UNION ALL ")})`, ...raiseFloorCtes(schema, h.guard === undefined ? undefined : `${h.guard} AND EXISTS (SELECT FROM picked)`, zoned));
  return { ctes, values, param };
}

/** The open contact zones of a claim (T2), or `null` when none of the campaign's zones is closed. */
export function openZonesOf(zones: readonly string[], req: ClaimRequest): string[] | null {
  const closed = closedOf(zones, req);
  return closed.length === 0 ? null : zones.filter((z) => !closed.includes(z));
}

/**
 * Store a successful keyed claim's result under its key (S8), in the claim's transaction: one statement
 * without parameters (the keys travel as one JSON literal), sent with the COMMIT (`deferToCommit`).
 */
export async function storeKeys(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  now: number,
  keys: readonly { texter: string; key: string; conversations: readonly Conversation[] }[],
): Promise<void> {
  if (keys.length === 0) return;
  const rows = keys.map((k) => ({ t: k.texter, k: k.key, c: k.conversations, at: now }));
  await deferToCommit(
    client,
    `INSERT INTO ${schema}.claim_keys (campaign_id, texter_id, key, conversations, created_at)
     SELECT ${literal(campaignId)}, t, k, c, at FROM json_to_recordset(${literal(JSON.stringify(rows))}::json) AS x(t text, k text, c jsonb, at bigint)`,
  );
}

/** Run one claim; see {@link ClaimRequest}. `known` remembers the campaign's contact zones it reads (for `fast-claim.ts`). */
export async function claim(pool: PgPoolLike, schema: string, req: ClaimRequest, tx: TxOptions, known?: KnownZones): Promise<ClaimOutcome> {
  return transaction<ClaimOutcome>(
    pool,
    async (client) => {
      const serialize = needsState(req);
      const state = await lockAndReadClaimState(client, schema, req.campaignId, [req], serialize ? [req.texterId] : [], req.join === null ? null : req.texterId);
      if (state !== null) known?.remember(req.campaignId, state.zones);
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
      const q = handOutQuery(schema, {
        campaignId: req.campaignId,
        limit: room.room,
        ranks: req.ranks,
        openZones: openZonesOf(state!.zones, req),
        to: { texter: req.texterId },
        now: req.now,
      });
      const { rows } = await client.query<ConversationRow>(q.text, q.values);
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

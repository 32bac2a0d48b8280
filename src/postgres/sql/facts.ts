/**
 * The fact log, kept as an outbox (the `events` table). Writers insert facts unnumbered in the same
 * transaction as their change; readers give committed facts their positions before reading.
 *
 * Numbering never makes a reader wait for another: `number_events()` (migration 6) takes the
 * numbering lock with `pg_try_advisory_xact_lock` and, in a snapshot taken after the lock, numbers
 * every committed, unnumbered fact in insert order above the counter; when another reader holds the
 * lock it numbers nothing and the read returns what is numbered already (the caller numbers again
 * soon, see `listen.ts`). Positions cannot go backwards: numberings are serialized by the lock, each
 * starts from the counter the previous one committed, and each makes its positions visible at once
 * (one commit) — so a reader that has seen position N sees every position below N in the same read,
 * and a fact that commits later gets a position above every position given so far.
 * @module
 */
import { createHash } from "node:crypto";
import type { Fact, FactQuery, FactRecord } from "../../storage/facts.js";
import type { PgClientLike } from "../pg-like.js";
import type { Queryable } from "./aggregates.js";
import { deferToCommit, literal } from "./batch.js";

/** Clients whose current transaction inserted facts, and the schema they went to (read at COMMIT). */
const wroteFacts = new WeakMap<PgClientLike, string>();

/** The schema whose facts the client's current transaction inserted, if any; forgets it (call once per transaction end). */
export function takeFactsMark(client: PgClientLike): string | undefined {
  const schema = wroteFacts.get(client);
  wroteFacts.delete(client);
  return schema;
}

/**
 * The notification channel of a schema's facts (quoted schema in, ≤ 63 bytes out: PostgreSQL's
 * identifier limit; long schema names are hashed). Letters, digits, `_` and `:` only, so it can be
 * inlined into `LISTEN "…"` and string literals.
 */
export function channelOf(schema: string): string {
  const name = schema.replaceAll('"', "");
  const plain = `selfassign:${name}`;
  return plain.length <= 63 ? plain : `selfassign:${createHash("sha256").update(name).digest("hex").slice(0, 40)}`;
}

/**
 * Insert facts in the caller's transaction (one statement, sent with its COMMIT: see
 * `deferToCommit`), and note it for the commit (the notification). The facts travel as one JSON
 * literal, so the statement needs no parameters; `json_to_recordset` keeps their order (positions
 * follow insert order) and each payload's text as it was written.
 */
export async function insertFacts(client: PgClientLike, schema: string, facts: readonly Fact[]): Promise<void> {
  if (facts.length === 0) return;
  const rows = facts.map((e) => ({
    type: e.type,
    at: e.at,
    org_id: e.orgId,
    campaign_id: e.campaignId,
    actor_id: e.actorId,
    actor_type: e.actorType,
    data: packIds(e.campaignId, e.data),
  }));
  await deferToCommit(
    client,
    `INSERT INTO ${schema}.events (type, at, org_id, campaign_id, actor_id, actor_type, data)
     SELECT type, at, org_id, campaign_id, actor_id, actor_type, data
     FROM json_to_recordset(${literal(JSON.stringify(rows))}::json)
       AS x(type text, at bigint, org_id text, campaign_id text, actor_id text, actor_type text, data json)`,
  );
  wroteFacts.set(client, schema);
}

/**
 * The `INSERT … SELECT` of one fact whose conversations only the statement knows (the one-round-trip
 * claim, `fast-claim.ts`): `fact` is built for the placeholder conversation `<campaignId>:0`, and its
 * stored payload (see {@link packIds}) gets the seqs SQL lists in `seqs` (a text expression, digits
 * joined by commas, in order) in their place. Values go through `param`; the row is inserted only
 * when `when` holds. `null` when the fact does not have that shape.
 */
export function insertFactSql(schema: string, fact: Fact, seqs: string, when: string, param: (value: unknown) => string): string | null {
  const text = JSON.stringify(packIds(fact.campaignId, fact.data));
  // Unescaped quotes and a colon: only a key of the payload (a quote inside a string value is escaped).
  const key = `"${SEQS}":[0]`;
  const at = text.indexOf(key);
  if (at < 0 || text.indexOf(key, at + 1) >= 0) return null;
  const before = text.slice(0, at + key.length - 2);
  const after = text.slice(at + key.length - 1);
  const columns = [fact.type, fact.at, fact.orgId, fact.campaignId, fact.actorId, fact.actorType].map(param).join(", ");
  return `INSERT INTO ${schema}.events (type, at, org_id, campaign_id, actor_id, actor_type, data)
    SELECT ${columns}, (${param(before)} || ${seqs} || ${param(after)})::json WHERE ${when}`;
}

/** The stored name of a fact's `conversationIds` when they are kept as their campaign's seqs. */
const SEQS = "conversationSeqs";

/**
 * A fact's `conversationIds` of its own campaign (`<campaignId>:<seq>` each, a claim's batch or a move)
 * stored as the seqs alone, in the same place among the payload's keys: a claim's fact is a quarter
 * of the size to write, store, number and send to every reader. Anything else is stored as it is.
 * No fact has a `conversationSeqs` field of its own (the name is this encoding's).
 */
export function packIds(campaignId: string | null, data: unknown): unknown {
  if (campaignId === null || typeof data !== "object" || data === null || Array.isArray(data)) return data;
  const record = data as Record<string, unknown>;
  const ids = record.conversationIds;
  if (!Array.isArray(ids) || SEQS in record) return data;
  const prefix = `${campaignId}:`;
  const seqs: number[] = [];
  for (const id of ids) {
    if (typeof id !== "string" || !id.startsWith(prefix)) return data;
    const tail = id.slice(prefix.length);
    if (!/^(0|[1-9][0-9]{0,14})$/.test(tail)) return data; // canonical and exact as a number
    seqs.push(Number(tail));
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => (k === "conversationIds" ? [SEQS, seqs] : [k, v])));
}

/** The payload as the engine wrote it: see {@link packIds}. */
export function unpackIds(campaignId: string | null, data: unknown): unknown {
  if (campaignId === null || typeof data !== "object" || data === null || Array.isArray(data)) return data;
  const record = data as Record<string, unknown>;
  const seqs = record[SEQS];
  if (!Array.isArray(seqs) || "conversationIds" in record) return data;
  return Object.fromEntries(Object.entries(record).map(([k, v]) => (k === SEQS ? ["conversationIds", seqs.map((n) => `${campaignId}:${n}`)] : [k, v])));
}

interface FactRow {
  seq: string;
  type: string;
  at: string;
  org_id: string;
  campaign_id: string | null;
  actor_id: string | null;
  actor_type: string;
  data: unknown;
}

/** Most facts one {@link readFacts} call returns (the engine allows the same). */
const MAX_READ = 100_000;

function wholeNumber(value: unknown, name: string, max: number): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${typeof value}.`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be a whole number from 0 to ${max}, got ${value}.`);
  }
  return value;
}

/** What one numbering did. */
export interface Numbering {
  /** The newest position given. */
  readonly head: number;
  /** True when committed facts were left unnumbered because another reader held the lock: number again soon. */
  readonly missed: boolean;
}

/** Number committed facts unless another reader is numbering (one statement, no wait); see the module doc. */
export async function numberFacts(db: Queryable, schema: string): Promise<Numbering> {
  const { rows } = await db.query<{ head: string; missed: boolean }>(`SELECT head, missed FROM ${schema}.number_events()`);
  return { head: Number(rows[0]!.head), missed: rows[0]!.missed };
}

/** The newest position given, without numbering (inside a host's transaction, where the numbering lock would be held until it commits). */
export async function numberedHead(db: Queryable, schema: string): Promise<number> {
  const { rows } = await db.query<{ last_seq: string }>(`SELECT last_seq FROM ${schema}.event_counter`);
  return Number(rows[0]!.last_seq);
}

/** A fact query, checked: `after` and `limit` whole numbers in range, filters strings (they go to the database as parameters). */
export function checkFactQuery(query: FactQuery): FactQuery {
  if (typeof query !== "object" || query === null) throw new TypeError("readFacts: expected a query object.");
  wholeNumber(query.after, "after", Number.MAX_SAFE_INTEGER);
  wholeNumber(query.limit, "limit", MAX_READ);
  for (const name of ["orgId", "campaignId"] as const) {
    if (query[name] !== undefined && typeof query[name] !== "string") throw new TypeError(`${name} must be a string when given.`);
  }
  if (query.types !== undefined && (!Array.isArray(query.types) || query.types.some((t) => typeof t !== "string"))) {
    throw new TypeError("types must be an array of strings when given.");
  }
  return query;
}

/**
 * Read positions after `after` of a {@link checkFactQuery checked} query, optionally only an
 * organization's, a campaign's or some types' (each filter has its index: `(org_id, seq)`,
 * `(campaign_id, seq)`); every argument is sent as a parameter. Numbers nothing: readers outside a
 * host's transaction go through `fact-reads.ts`, which numbers first.
 */
export async function queryFacts(db: Queryable, schema: string, query: FactQuery): Promise<FactRecord[]> {
  const values: unknown[] = [query.after, query.limit];
  const where = ["seq > $1"];
  const filter = (column: string, value: unknown, cast = "") => {
    values.push(value);
    where.push(cast === "" ? `${column} = $${values.length}` : `${column} = ANY($${values.length}${cast})`);
  };
  if (query.orgId !== undefined) filter("org_id", query.orgId);
  if (query.campaignId !== undefined) filter("campaign_id", query.campaignId);
  if (query.types !== undefined) filter("type", [...query.types], "::text[]");
  // actor_type is null only on rows a previous release inserted during an upgrade: filled in as migration 6 does.
  const { rows } = await db.query<FactRow>(
    `SELECT seq, type, at, org_id, campaign_id, actor_id,
            coalesce(actor_type, CASE WHEN actor_id IS NULL THEN 'host' ELSE 'user' END) AS actor_type, data
     FROM ${schema}.events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT $2`,
    values,
  );
  return rows.map(
    (r) =>
      ({
        seq: Number(r.seq),
        type: r.type,
        at: Number(r.at),
        orgId: r.org_id,
        campaignId: r.campaign_id,
        actorId: r.actor_id,
        actorType: r.actor_type,
        data: unpackIds(r.campaign_id, r.data),
      }) as FactRecord,
  );
}

/** A named consumer's stored position, 0 when it never saved one. */
export async function readConsumer(db: Queryable, schema: string, name: string): Promise<number> {
  const { rows } = await db.query<{ position: string }>(`SELECT position FROM ${schema}.event_consumers WHERE name = $1`, [name]);
  return rows[0] === undefined ? 0 : Number(rows[0].position);
}

/** Store a consumer's position; never backwards (concurrent saves keep the highest). */
export async function saveConsumer(db: Queryable, schema: string, name: string, position: number): Promise<void> {
  wholeNumber(position, "position", Number.MAX_SAFE_INTEGER);
  await db.query(
    `INSERT INTO ${schema}.event_consumers (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = greatest(${schema}.event_consumers.position, EXCLUDED.position)`,
    [name, position],
  );
}

/** Delete facts at or below `upTo` and below every stored consumer's position; returns how many. */
export async function pruneFacts(db: Queryable, schema: string, upTo: number): Promise<number> {
  wholeNumber(upTo, "upTo", Number.MAX_SAFE_INTEGER);
  const { rowCount } = await db.query(
    `DELETE FROM ${schema}.events WHERE seq <= least($1::bigint, (SELECT min(position) FROM ${schema}.event_consumers))`,
    [upTo],
  );
  return rowCount ?? 0;
}

/** Mark facts up to `upTo` acknowledged; with `prune`, delete them. Returns how many. */
export async function acknowledgeEvents(db: Queryable, schema: string, upTo: number, prune: boolean): Promise<number> {
  const result = prune
    ? await db.query(`DELETE FROM ${schema}.events WHERE seq <= $1`, [upTo])
    : await db.query(`UPDATE ${schema}.events SET acknowledged_at = now() WHERE seq <= $1 AND acknowledged_at IS NULL`, [upTo]);
  return result.rowCount ?? 0;
}

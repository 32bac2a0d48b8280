/**
 * The fact log, kept as an outbox (the `events` table). Writers insert facts unnumbered in the same
 * transaction as their change; readers number what has committed, under an advisory lock, before
 * reading. A position is given only to a fact that is already visible, and always above every
 * position given before, so a reader that has seen position N never later meets a fact below N
 * (which numbering at insert time, with transactions committing out of order, would not guarantee).
 * @module
 */
import type { Fact, FactQuery, FactRecord } from "../../storage/facts.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { type TxOptions, transaction } from "./transaction.js";

/** Insert facts in the caller's transaction (one statement). */
export async function insertFacts(client: PgClientLike, schema: string, facts: readonly Fact[]): Promise<void> {
  if (facts.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.events (type, at, org_id, campaign_id, actor_id, data)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
    [
      facts.map((e) => e.type),
      facts.map((e) => e.at),
      facts.map((e) => e.orgId),
      facts.map((e) => e.campaignId),
      facts.map((e) => e.actorId),
      facts.map((e) => JSON.stringify(e.data)),
    ],
  );
}

interface FactRow {
  seq: string;
  type: string;
  at: string;
  org_id: string;
  campaign_id: string | null;
  actor_id: string | null;
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

/** Give every committed, unnumbered fact its position (in insert order, above every earlier one); returns the newest position. */
async function numberFacts(pool: PgPoolLike, schema: string, tx: TxOptions): Promise<number> {
  return transaction(
    pool,
    async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`selfassign:events:${schema}`]);
      const { rows } = await client.query<{ last_seq: string }>(
        `WITH ready AS (
           SELECT id, row_number() OVER (ORDER BY id) AS n FROM ${schema}.events WHERE seq IS NULL
         ), base AS (
           SELECT last_seq FROM ${schema}.event_counter
         ), numbered AS (
           UPDATE ${schema}.events e SET seq = base.last_seq + ready.n FROM ready, base WHERE e.id = ready.id RETURNING 1
         )
         UPDATE ${schema}.event_counter SET last_seq = last_seq + (SELECT count(*) FROM numbered) RETURNING last_seq`,
      );
      return Number(rows[0]!.last_seq);
    },
    tx,
  );
}

/** The newest fact's position (0 when none): numbers what has committed first, so a reader starting there misses nothing later. */
export function factHead(pool: PgPoolLike, schema: string, tx: TxOptions): Promise<number> {
  return numberFacts(pool, schema, tx);
}

/**
 * Number the committed facts, then read positions after `after`, optionally only an organization's,
 * a campaign's or some types' (each filter has its index: `(org_id, seq)`, `(campaign_id, seq)`).
 * Every argument is validated and sent as a parameter.
 */
export async function readFacts(pool: PgPoolLike, schema: string, query: FactQuery, tx: TxOptions): Promise<FactRecord[]> {
  if (typeof query !== "object" || query === null) throw new TypeError("readFacts: expected a query object.");
  const after = wholeNumber(query.after, "after", Number.MAX_SAFE_INTEGER);
  const limit = wholeNumber(query.limit, "limit", MAX_READ);
  if (limit === 0) return [];
  await numberFacts(pool, schema, tx);
  const values: unknown[] = [after, limit];
  const where = ["seq > $1"];
  const filter = (column: string, value: unknown, cast = "") => {
    values.push(value);
    where.push(cast === "" ? `${column} = $${values.length}` : `${column} = ANY($${values.length}${cast})`);
  };
  if (query.orgId !== undefined) filter("org_id", query.orgId);
  if (query.campaignId !== undefined) filter("campaign_id", query.campaignId);
  if (query.types !== undefined) filter("type", [...query.types], "::text[]");
  const { rows } = await pool.query<FactRow>(
    `SELECT seq, type, at, org_id, campaign_id, actor_id, data FROM ${schema}.events
     WHERE ${where.join(" AND ")} ORDER BY seq LIMIT $2`,
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
        data: r.data,
      }) as FactRecord,
  );
}

/** A named consumer's stored position, 0 when it never saved one. */
export async function readConsumer(pool: PgPoolLike, schema: string, name: string): Promise<number> {
  const { rows } = await pool.query<{ position: string }>(`SELECT position FROM ${schema}.event_consumers WHERE name = $1`, [name]);
  return rows[0] === undefined ? 0 : Number(rows[0].position);
}

/** Store a consumer's position; never backwards (concurrent saves keep the highest). */
export async function saveConsumer(pool: PgPoolLike, schema: string, name: string, position: number): Promise<void> {
  wholeNumber(position, "position", Number.MAX_SAFE_INTEGER);
  await pool.query(
    `INSERT INTO ${schema}.event_consumers (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = greatest(${schema}.event_consumers.position, EXCLUDED.position)`,
    [name, position],
  );
}

/** Delete facts at or below `upTo` and below every stored consumer's position; returns how many. */
export async function pruneFacts(pool: PgPoolLike, schema: string, upTo: number): Promise<number> {
  wholeNumber(upTo, "upTo", Number.MAX_SAFE_INTEGER);
  const { rowCount } = await pool.query(
    `DELETE FROM ${schema}.events WHERE seq <= least($1::bigint, (SELECT min(position) FROM ${schema}.event_consumers))`,
    [upTo],
  );
  return rowCount ?? 0;
}

/** Mark facts up to `upTo` acknowledged; with `prune`, delete them. Returns how many. */
export async function acknowledgeEvents(pool: PgPoolLike, schema: string, upTo: number, prune: boolean): Promise<number> {
  const result = prune
    ? await pool.query(`DELETE FROM ${schema}.events WHERE seq <= $1`, [upTo])
    : await pool.query(`UPDATE ${schema}.events SET acknowledged_at = now() WHERE seq <= $1 AND acknowledged_at IS NULL`, [upTo]);
  return result.rowCount ?? 0;
}

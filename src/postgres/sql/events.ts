/**
 * The event outbox. Writers insert events unnumbered in the same transaction as their change;
 * readers number what has committed, under an advisory lock, before reading. A position is given
 * only to an event that is already visible, and always above every position given before, so a
 * reader that has seen position N never later meets an event below N (which numbering at insert
 * time, with transactions committing out of order, would not guarantee).
 * @module
 */
import type { EventDraft, SelfAssignEvent } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { transaction } from "./transaction.js";

/** Insert events in the caller's transaction. */
export async function insertEvents(client: PgClientLike, schema: string, events: readonly EventDraft[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.events (type, at, org_id, campaign_id, actor_id, data)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
    [
      events.map((e) => e.type),
      events.map((e) => e.at),
      events.map((e) => e.orgId),
      events.map((e) => e.campaignId),
      events.map((e) => e.actorId),
      events.map((e) => JSON.stringify(e.data)),
    ],
  );
}

interface EventRow {
  seq: string;
  type: string;
  at: string;
  org_id: string;
  campaign_id: string | null;
  actor_id: string | null;
  data: unknown;
}

/** Most events one {@link readEvents} call returns (the engine allows the same). */
const MAX_READ_EVENTS = 100_000;

function wholeNumber(value: unknown, name: string, max: number): number {
  if (typeof value !== "number") throw new TypeError(`readEvents: ${name} must be a number, got ${typeof value}.`);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`readEvents: ${name} must be a whole number from 0 to ${max}, got ${value}.`);
  }
  return value;
}

/** Number the committed events, then read positions after `after` (both arguments validated, and sent as parameters). */
export async function readEvents(pool: PgPoolLike, schema: string, after: number, limit: number): Promise<SelfAssignEvent[]> {
  wholeNumber(after, "after", Number.MAX_SAFE_INTEGER);
  wholeNumber(limit, "limit", MAX_READ_EVENTS);
  await transaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`selfassign:events:${schema}`]);
    await client.query(
      `WITH ready AS (
         SELECT id, row_number() OVER (ORDER BY id) AS n FROM ${schema}.events WHERE seq IS NULL
       ), base AS (
         SELECT last_seq FROM ${schema}.event_counter
       ), numbered AS (
         UPDATE ${schema}.events e SET seq = base.last_seq + ready.n FROM ready, base WHERE e.id = ready.id RETURNING 1
       )
       UPDATE ${schema}.event_counter SET last_seq = last_seq + (SELECT count(*) FROM numbered)`,
    );
  });
  const { rows } = await pool.query<EventRow>(
    `SELECT seq, type, at, org_id, campaign_id, actor_id, data FROM ${schema}.events
     WHERE seq > $1 ORDER BY seq LIMIT $2`,
    [after, limit],
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
      }) as SelfAssignEvent,
  );
}

/** Mark events up to `upTo` acknowledged; with `prune`, delete them. Returns how many. */
export async function acknowledgeEvents(pool: PgPoolLike, schema: string, upTo: number, prune: boolean): Promise<number> {
  const result = prune
    ? await pool.query(`DELETE FROM ${schema}.events WHERE seq <= $1`, [upTo])
    : await pool.query(`UPDATE ${schema}.events SET acknowledged_at = now() WHERE seq <= $1 AND acknowledged_at IS NULL`, [upTo]);
  return result.rowCount ?? 0;
}

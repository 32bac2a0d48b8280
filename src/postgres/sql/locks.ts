/**
 * Fair locks. Every step that reads or writes a campaign's state takes the campaign's
 * transaction-level advisory lock first: shared for claims, joins, leases, imports and conversation
 * updates, exclusive for campaign commits (settings, lifecycle, senders, moves). PostgreSQL's lock
 * manager queues a new shared request behind a waiting exclusive one, so an admin's pause gets its
 * turn while claims keep coming — row locks do not queue that way (new `FOR SHARE` lockers overtake a
 * waiting `FOR UPDATE`), which is why claims no longer lock the campaign row at all.
 *
 * Keys live in the two-int space (`pg_advisory_xact_lock(int, int)`), which does not overlap the
 * one-bigint space of the migration, outbox and opt-out locks:
 * - campaign: `(hashtext(campaignId), 0)` — an even second key;
 * - texter on a campaign (claims): `(hashtext(campaignId), hashtext(texterId) | 1)` — always odd,
 *   so a texter's lock never collides with any campaign's.
 *
 * Only transaction-level advisory locks are used (released at COMMIT or ROLLBACK), so the adapter
 * keeps no session state and works behind PgBouncer in transaction mode. Lock order, everywhere:
 * the organization's opt-out lock, then campaign locks, then texter locks, then rows.
 * @module
 */
import type { PgClientLike } from "../pg-like.js";
import { literal } from "./batch.js";

/** SQL for the campaign lock's key, given the SQL of the campaign id. */
export function campaignKey(idSql: string): string {
  return `hashtext(${idSql}), 0`;
}

/** SQL for a texter's lock key on a campaign. */
export function texterKey(campaignIdSql: string, texterIdSql: string): string {
  return `hashtext(${campaignIdSql}), hashtext(${texterIdSql}) | 1`;
}

/**
 * Take the campaign's lock (shared or exclusive), then — exclusively, in sorted order so two
 * transactions never deadlock — the locks of `texters`. One statement: the texter locks are an
 * init-plan, which PostgreSQL runs only when the select list reaches it, after the campaign lock. The
 * ids are inlined as literals (no parameters), so a transaction sends its BEGIN in the same round trip.
 */
export async function lockCampaign(client: PgClientLike, campaignId: string, mode: "shared" | "exclusive", texters: readonly string[] = []): Promise<void> {
  await client.query(campaignLockSql(campaignId, mode, texters));
}

/** The statement {@link lockCampaign} sends (no parameters), for a caller that sends it together with the next one. */
export function campaignLockSql(campaignId: string, mode: "shared" | "exclusive", texters: readonly string[] = []): string {
  const id = literal(campaignId);
  const campaign = `pg_advisory_xact_lock${mode === "shared" ? "_shared" : ""}(${campaignKey(id)})`;
  const sorted = [...new Set(texters)].sort();
  if (sorted.length === 0) return `SELECT ${campaign}`;
  if (sorted.length === 1) return `SELECT ${campaign}, pg_advisory_xact_lock(${texterKey(id, literal(sorted[0]!))})`;
  return `SELECT ${campaign},
              (SELECT count(pg_advisory_xact_lock(${texterKey(id, "s.t")})) FROM (SELECT t FROM unnest(ARRAY[${sorted.map(literal).join(", ")}]::text[]) AS t ORDER BY t) s)`;
}

/** The one-bigint key of an organization's opt-out lock: opt-outs take it exclusively, imports shared (O3). */
export function optOutKey(orgIdSql: string): string {
  return `hashtext('selfassign:opt-out:' || ${orgIdSql})`;
}

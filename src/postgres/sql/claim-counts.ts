/**
 * Claims that write their own count rows (migration 12). The update trigger counts a statement's
 * changes with two passes over its old and new rows (`migrations.ts`); a claim knows them already: each
 * row it hands out moves, by status, from nobody to its texter. A transaction that says so with
 * {@link CLAIM_COUNTED} is skipped by the trigger body of version 12, and its hand-out writes the rows
 * of {@link claimCounts} — only when version 12 is applied, so against an older trigger (a server not
 * migrated yet) nothing is counted twice. Only transactions whose one `UPDATE` of `conversations` is
 * a hand-out set it: the one-round-trip claim (`fast-claim.ts`) and a group's hand-out
 * (`group-claim.ts`), never a host's transaction.
 * @module
 */

/** Tells the update trigger (migration 12) that this transaction's claim writes its own count rows. */
export const CLAIM_COUNTED = "SET LOCAL selfassign.claim_counted = on";

/**
 * The CTE `cnt`: the count rows (migration 8's delta rows) of the rows the CTE `upd` handed out, as
 * the update trigger would write them: each moved, by status, from nobody to `assignee` (an expression
 * over `upd`'s row `u`, or a parameter); `$1` is the campaign. Written only when migration 12 is applied.
 */
export function claimCounts(schema: string, assignee: string): string {
  return `cnt AS (INSERT INTO ${schema}.conversation_counts (campaign_id, assignee, status, n)
     SELECT $1, d.assignee, u.status, d.sign * count(*) FROM upd u, LATERAL (VALUES (NULL::text, -1), (${assignee}, 1)) AS d (assignee, sign)
     WHERE EXISTS (SELECT FROM ${schema}.schema_migrations WHERE version = 12) GROUP BY d.assignee, d.sign, u.status)`;
}

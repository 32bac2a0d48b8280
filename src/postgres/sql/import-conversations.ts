/**
 * Import (C2): one transaction, the campaign row locked `FOR UPDATE` and version-checked, contacts
 * inserted in chunks, keyed once per campaign in `campaign_contacts` (its primary key is what makes a
 * contact one conversation), opted-out contacts
 * (O3) arriving as `opted_out`. A shared advisory lock per organization orders imports against
 * opt-outs, so a contact opting out during an import is never imported as assignable.
 * @module
 */
import type { ImportOutcome, ImportRequest } from "../../storage/contract.js";
import type { PgPoolLike } from "../pg-like.js";
import { checkVersion } from "./aggregates.js";
import { insertEvents } from "./events.js";
import { statusCode, rankOf } from "./rows.js";
import { Rollback, transaction } from "./transaction.js";

const CHUNK = 20_000;

/** Import contacts; see {@link ImportRequest}. */
export async function importConversations(pool: PgPoolLike, schema: string, req: ImportRequest): Promise<ImportOutcome> {
  return transaction<ImportOutcome>(pool, async (client) => {
    const campaign = await checkVersion(client, schema, req.campaignId, req.expectedVersion, "FOR UPDATE");
    if (campaign === null) return new Rollback({ kind: "conflict" });
    await client.query("SELECT pg_advisory_xact_lock_shared(hashtext($1))", [`selfassign:opt-out:${campaign.orgId}`]);
    // First occurrence of each contact wins; later repeats in the same list are skipped (C2).
    const seen = new Set<string>();
    const contacts = req.contacts.filter((c) => !seen.has(c.contactId) && (seen.add(c.contactId), true));
    let created = 0;
    let nextSeq = campaign.nextSeq;
    for (let start = 0; start < contacts.length; start += CHUNK) {
      const chunk = contacts.slice(start, start + CHUNK);
      const { rows } = await client.query<{ created: string }>(
        `WITH input AS (
           SELECT contact_id, tz, ord FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(contact_id, tz, ord)
         ), fresh AS (
           SELECT i.contact_id, i.tz, row_number() OVER (ORDER BY i.ord) AS n
           FROM input i
           -- A probe of the primary key per contact, not an anti-join: planned from statistics that
           -- cannot know what this transaction's earlier chunks inserted, an anti-join went quadratic.
           WHERE (SELECT 1 FROM ${schema}.campaign_contacts k WHERE k.campaign_id = $1 AND k.contact_id = i.contact_id LIMIT 1) IS NULL
         ), keyed AS (
           INSERT INTO ${schema}.campaign_contacts (campaign_id, contact_id, seq)
           SELECT $1, contact_id, $4 + n - 1 FROM fresh
         ), inserted AS (
           INSERT INTO ${schema}.conversations (campaign_id, seq, contact_id, status, rank, sort_key, contact_tz)
           SELECT $1, $4 + f.n - 1, f.contact_id,
                  CASE WHEN o.contact_id IS NOT NULL THEN ${statusCode("opted_out")} ELSE ${statusCode("not_started")} END,
                  CASE WHEN o.contact_id IS NOT NULL THEN ${rankOf("opted_out")} ELSE ${rankOf("not_started")} END,
                  $4 + f.n - 1, f.tz
           FROM fresh f
           LEFT JOIN ${schema}.opt_outs o ON o.org_id = $5 AND o.contact_id = f.contact_id
           RETURNING 1
         )
         SELECT count(*) AS created FROM inserted`,
        [req.campaignId, chunk.map((c) => c.contactId), chunk.map((c) => c.timeZone ?? null), nextSeq, campaign.orgId],
      );
      const n = Number(rows[0]!.created);
      created += n;
      nextSeq += n;
    }
    await client.query(`UPDATE ${schema}.campaigns SET next_seq = $2 WHERE id = $1`, [req.campaignId, nextSeq]);
    // The campaign's contact time zones, so a claim can tell which are outside texting hours (T2).
    const zones = [...new Set(contacts.map((c) => c.timeZone).filter((z): z is string => typeof z === "string"))];
    if (zones.length > 0) {
      await client.query(
        `INSERT INTO ${schema}.campaign_time_zones (campaign_id, tz) SELECT $1, z FROM unnest($2::text[]) AS z ON CONFLICT DO NOTHING`,
        [req.campaignId, zones],
      );
    }
    const counts = { created, skipped: req.contacts.length - created };
    await insertEvents(client, schema, req.events(counts));
    return { kind: "imported", ...counts };
  });
}

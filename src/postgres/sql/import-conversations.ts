/**
 * Import (C2): one transaction under the organization's opt-out lock (shared: an opt-out, which takes
 * it exclusively, never misses a contact being imported, O3) and the campaign's shared lock (a pause
 * or archive waits for it), the campaign row locked `FOR NO KEY UPDATE` (imports of one campaign take
 * turns: each numbers its conversations from `next_seq`) and version-checked. Contacts are inserted in
 * chunks, keyed once per campaign in `campaign_contacts` (its primary key is what makes a contact one
 * conversation); opted-out contacts arrive as `opted_out`.
 * @module
 */
import { importedFacts } from "../../storage/facts.js";
import type { ImportOutcome, ImportRequest } from "../../storage/pool.js";
import { conversationId, orderRank, statusCode } from "../../storage/rules.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { insertFacts } from "./facts.js";
import { campaignKey, optOutKey } from "./locks.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

const CHUNK = 20_000;

/** The conversation ids of the listed contacts, in input order (for `returnIds`). */
async function idsOf(client: PgClientLike, schema: string, req: ImportRequest, firstNew: number): Promise<Extract<ImportOutcome, { kind: "imported" }>["ids"]> {
  const seqs = new Map<string, number>();
  for (let start = 0; start < req.contacts.length; start += CHUNK) {
    const { rows } = await client.query<{ contact_id: string; seq: string }>(
      // A primary-key probe per contact (`campaign_id = $1 AND contact_id = ANY(…)` read a campaign the
      // statistics estimate at one row whole, filtering the contacts).
      `SELECT x.contact_id, k.seq FROM unnest($2::text[]) AS x(contact_id)
       CROSS JOIN LATERAL (SELECT seq FROM ${schema}.campaign_contacts WHERE campaign_id = $1 AND contact_id = x.contact_id OFFSET 0) k`,
      [req.campaignId, req.contacts.slice(start, start + CHUNK).map((c) => c.contactId)],
    );
    for (const r of rows) seqs.set(r.contact_id, Number(r.seq));
  }
  const seen = new Set<string>();
  return req.contacts.map(({ contactId }) => {
    const seq = seqs.get(contactId)!;
    const created = seq >= firstNew && !seen.has(contactId); // a repeat in the list was created by its first occurrence
    seen.add(contactId);
    return { contactId, conversationId: conversationId(req.campaignId, seq), created };
  });
}

/** Import contacts; see {@link ImportRequest}. */
export async function importConversations(pool: PgPoolLike, schema: string, req: ImportRequest, tx: TxOptions): Promise<ImportOutcome> {
  return transaction<ImportOutcome>(
    pool,
    async (client) => {
      // Lock order: the organization's opt-out lock, then the campaign's (as every step takes them).
      const org = await client.query<{ org_id: string }>(
        `SELECT org_id, pg_advisory_xact_lock_shared(${optOutKey("org_id")}), pg_advisory_xact_lock_shared(${campaignKey("id")})
         FROM ${schema}.campaigns WHERE id = $1`,
        [req.campaignId],
      );
      const orgId = org.rows[0]?.org_id;
      if (orgId === undefined) return new Rollback({ kind: "conflict" });
      const { rows: locked } = await client.query<{ version: number; next_seq: string }>(
        `SELECT version, next_seq FROM ${schema}.campaigns WHERE id = $1 FOR NO KEY UPDATE`,
        [req.campaignId],
      );
      if (locked[0]?.version !== req.expectedVersion) return new Rollback({ kind: "conflict" });
      const firstNew = Number(locked[0].next_seq);
      // First occurrence of each contact wins; later repeats in the same list are skipped (C2).
      const seen = new Set<string>();
      const contacts = req.contacts.filter((c) => !seen.has(c.contactId) && (seen.add(c.contactId), true));
      let created = 0;
      let nextSeq = firstNew;
      for (let start = 0; start < contacts.length; start += CHUNK) {
        const chunk = contacts.slice(start, start + CHUNK);
        const { rows } = await client.query<{ created: string }>(
          `WITH input AS (
             SELECT contact_id, tz, ord FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(contact_id, tz, ord)
           ), fresh AS (
             SELECT i.contact_id, i.tz, row_number() OVER (ORDER BY i.ord) AS n,
                    EXISTS (SELECT 1 FROM ${schema}.opt_outs o WHERE o.org_id = $5 AND o.contact_id = i.contact_id) AS opted
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
                    CASE WHEN f.opted THEN ${statusCode("opted_out")} ELSE ${statusCode("not_started")} END,
                    CASE WHEN f.opted THEN ${orderRank("opted_out")} ELSE ${orderRank("not_started")} END,
                    $4 + f.n - 1, f.tz
             FROM fresh f
             RETURNING 1
           )
           SELECT count(*) AS created FROM inserted`,
          [req.campaignId, chunk.map((c) => c.contactId), chunk.map((c) => c.timeZone ?? null), nextSeq, orgId],
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
      await insertFacts(client, schema, importedFacts(req.context, counts));
      const ids = req.returnIds ? await idsOf(client, schema, req, firstNew) : [];
      return { kind: "imported", ...counts, ids };
    },
    tx,
  );
}

/**
 * Organizations and campaign aggregates: rows and member/sender tables in, objects out. The
 * aggregate's small fields live in a jsonb column; senders, members and invite tokens in tables with
 * keys, so membership is unique and tokens are looked up by index.
 * @module
 */
import { finishBulkSend } from "../../core/campaign.js";
import type { Campaign, Organization, Role, Sender } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { insertEvents } from "./events.js";

type Queryable = Pick<PgClientLike, "query"> | PgPoolLike;

interface OrgRow {
  id: string;
  name: string;
  version: number;
  default_batch_size: number;
  created_at: string;
}

/** Read an organization with its members (one round trip), or `null`. */
export async function loadOrganization(db: Queryable, schema: string, orgId: string): Promise<Organization | null> {
  const { rows } = await db.query<OrgRow & { members: [string, Role][] | null }>(
    `SELECT o.id, o.name, o.version, o.default_batch_size, o.created_at,
            (SELECT json_agg(json_build_array(m.user_id, m.role) ORDER BY m.position)
               FROM ${schema}.org_members m WHERE m.org_id = o.id) AS members
     FROM ${schema}.organizations o WHERE o.id = $1`,
    [orgId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    defaultBatchSize: row.default_batch_size,
    createdAt: Number(row.created_at),
    members: Object.fromEntries(row.members ?? []),
  };
}

/** Write an organization's members to match `org` (inside a transaction). */
export async function syncMembers(client: PgClientLike, schema: string, org: Organization): Promise<void> {
  const current = await client.query<{ user_id: string; role: Role }>(
    `SELECT user_id, role FROM ${schema}.org_members WHERE org_id = $1`,
    [org.id],
  );
  const have = new Map(current.rows.map((r) => [r.user_id, r.role]));
  const gone = [...have.keys()].filter((u) => !Object.prototype.hasOwnProperty.call(org.members, u));
  if (gone.length > 0) {
    await client.query(`DELETE FROM ${schema}.org_members WHERE org_id = $1 AND user_id = ANY($2::text[])`, [org.id, gone]);
  }
  const changed = Object.entries(org.members).filter(([u, r]) => have.get(u) !== r);
  if (changed.length > 0) {
    await client.query(
      `INSERT INTO ${schema}.org_members (org_id, user_id, role, position)
       SELECT $1, u, r, coalesce((SELECT max(position) FROM ${schema}.org_members WHERE org_id = $1), 0) + n
       FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(u, r, n)
       ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [org.id, changed.map(([u]) => u), changed.map(([, r]) => r)],
    );
  }
}

interface CampaignRow {
  id: string;
  org_id: string;
  version: number;
  status: Campaign["status"];
  data: Omit<Campaign, "id" | "orgId" | "version" | "status" | "senders">;
}

/** Read a campaign with its senders (one round trip), or `null`. */
export async function loadCampaign(db: Queryable, schema: string, campaignId: string): Promise<Campaign | null> {
  const { rows } = await db.query<CampaignRow & { senders: { user_id: string; added_at: number; via: Sender["via"] }[] | null }>(
    `SELECT c.id, c.org_id, c.version, c.status, c.data,
            (SELECT json_agg(json_build_object('user_id', s.user_id, 'added_at', s.added_at, 'via', s.via) ORDER BY s.position)
               FROM ${schema}.campaign_senders s WHERE s.campaign_id = c.id) AS senders
     FROM ${schema}.campaigns c WHERE c.id = $1`,
    [campaignId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return { ...toCampaign(row), senders: (row.senders ?? []).map((r) => toSender({ ...r, added_at: String(r.added_at) })) };
}

/** A campaign with its senders and its organization with its members, in one round trip, or `null`. */
export async function loadCampaignWithOrganization(
  db: Queryable,
  schema: string,
  campaignId: string,
): Promise<{ campaign: Campaign; organization: Organization } | null> {
  const { rows } = await db.query<
    CampaignRow & {
      senders: { user_id: string; added_at: number; via: Sender["via"] }[] | null;
      org: { id: string; name: string; version: number; default_batch_size: number; created_at: number } | null;
      members: [string, Role][] | null;
    }
  >(
    `SELECT c.id, c.org_id, c.version, c.status, c.data,
            (SELECT json_agg(json_build_object('user_id', s.user_id, 'added_at', s.added_at, 'via', s.via) ORDER BY s.position)
               FROM ${schema}.campaign_senders s WHERE s.campaign_id = c.id) AS senders,
            (SELECT row_to_json(o) FROM ${schema}.organizations o WHERE o.id = c.org_id) AS org,
            (SELECT json_agg(json_build_array(m.user_id, m.role) ORDER BY m.position)
               FROM ${schema}.org_members m WHERE m.org_id = c.org_id) AS members
     FROM ${schema}.campaigns c WHERE c.id = $1`,
    [campaignId],
  );
  const row = rows[0];
  if (row === undefined || row.org === null) return null;
  return {
    campaign: { ...toCampaign(row), senders: (row.senders ?? []).map((r) => toSender({ ...r, added_at: String(r.added_at) })) },
    organization: {
      id: row.org.id,
      name: row.org.name,
      version: row.org.version,
      defaultBatchSize: row.org.default_batch_size,
      createdAt: Number(row.org.created_at),
      members: Object.fromEntries(row.members ?? []),
    },
  };
}

/** Campaigns of an organization, with senders. */
export async function listCampaigns(db: Queryable, schema: string, orgId: string): Promise<Campaign[]> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT id, org_id, version, status, data FROM ${schema}.campaigns WHERE org_id = $1 ORDER BY id`,
    [orgId],
  );
  const senders = await db.query<SenderRow & { campaign_id: string }>(
    `SELECT s.campaign_id, s.user_id, s.added_at, s.via FROM ${schema}.campaign_senders s
     JOIN ${schema}.campaigns c ON c.id = s.campaign_id WHERE c.org_id = $1 ORDER BY s.position`,
    [orgId],
  );
  return rows.map((row) => ({
    ...toCampaign(row),
    senders: senders.rows.filter((s) => s.campaign_id === row.id).map(toSender),
  }));
}

function toCampaign(row: CampaignRow): Omit<Campaign, "senders"> {
  // Rows written before bulk-send state existed have no `bulkSend`.
  return { ...row.data, bulkSend: row.data.bulkSend ?? null, id: row.id, orgId: row.org_id, version: row.version, status: row.status };
}

interface SenderRow {
  user_id: string;
  added_at: string;
  via: Sender["via"];
}

function toSender(r: SenderRow): Sender {
  return { userId: r.user_id, addedAt: Number(r.added_at), via: r.via };
}

function dataOf(c: Campaign): CampaignRow["data"] {
  const { id: _id, orgId: _org, version: _v, status: _s, senders: _senders, ...data } = c;
  return data;
}

/** Insert a new campaign row with its senders and tokens (inside a transaction). */
export async function insertCampaignRow(client: PgClientLike, schema: string, c: Campaign): Promise<boolean> {
  const r = await client.query(
    `INSERT INTO ${schema}.campaigns (id, org_id, version, status, batch_size, data) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING`,
    [c.id, c.orgId, c.version, c.status, c.selfAssignment.batchSize, JSON.stringify(dataOf(c))],
  );
  if (r.rowCount === 0) return false;
  await syncSenders(client, schema, c);
  await syncTokens(client, schema, c);
  return true;
}

/** Replace a campaign row (the caller has checked and locked the version) and sync senders and tokens. */
export async function writeCampaign(client: PgClientLike, schema: string, c: Campaign): Promise<void> {
  await client.query(
    `UPDATE ${schema}.campaigns SET version = $2, status = $3, batch_size = $4, data = $5 WHERE id = $1`,
    [c.id, c.version, c.status, c.selfAssignment.batchSize, JSON.stringify(dataOf(c))],
  );
  await syncSenders(client, schema, c);
  await syncTokens(client, schema, c);
}

async function syncSenders(client: PgClientLike, schema: string, c: Campaign): Promise<void> {
  const current = await client.query<{ user_id: string }>(
    `SELECT user_id FROM ${schema}.campaign_senders WHERE campaign_id = $1`,
    [c.id],
  );
  const have = new Set(current.rows.map((r) => r.user_id));
  const want = new Set(c.senders.map((s) => s.userId));
  const gone = [...have].filter((u) => !want.has(u));
  if (gone.length > 0) {
    await client.query(`DELETE FROM ${schema}.campaign_senders WHERE campaign_id = $1 AND user_id = ANY($2::text[])`, [c.id, gone]);
  }
  const fresh = c.senders.filter((s) => !have.has(s.userId));
  if (fresh.length > 0) {
    await client.query(
      `INSERT INTO ${schema}.campaign_senders (campaign_id, user_id, position, added_at, via)
       SELECT $1, u, coalesce((SELECT max(position) FROM ${schema}.campaign_senders WHERE campaign_id = $1), 0) + n, a, v
       FROM unnest($2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS t(u, a, v, n)`,
      [c.id, fresh.map((s) => s.userId), fresh.map((s) => s.addedAt), fresh.map((s) => s.via)],
    );
  }
}

async function syncTokens(client: PgClientLike, schema: string, c: Campaign): Promise<void> {
  const tokens = [...c.invite.revokedTokens, ...(c.invite.token === null ? [] : [c.invite.token])];
  if (tokens.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.invite_tokens (token, campaign_id) SELECT t, $1 FROM unnest($2::text[]) AS t ON CONFLICT (token) DO NOTHING`,
    [c.id, tokens],
  );
}

/**
 * Lock the campaign row and compare its version: `FOR UPDATE` for aggregate writers, `FOR SHARE`
 * for claims. With `thenLock`, also take that advisory transaction lock in the same round trip —
 * strictly after the row lock (the row is locked inside the subquery before the outer select list
 * runs), so every transaction takes the two in the same order.
 */
export async function checkVersion(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  expected: number,
  mode: "FOR UPDATE" | "FOR SHARE",
  thenLock?: readonly [string, string],
): Promise<{ orgId: string; nextSeq: number; zones: string[] } | null> {
  // The campaign's contact time zones (T2) come along in the same round trip.
  const zones = `(SELECT coalesce(array_agg(tz), '{}') FROM ${schema}.campaign_time_zones WHERE campaign_id = $1) AS zones`;
  const { rows } = await client.query<{ version: number; org_id: string; next_seq: string; zones: string[] }>(
    thenLock === undefined
      ? `SELECT c.version, c.org_id, c.next_seq, ${zones} FROM (SELECT version, org_id, next_seq FROM ${schema}.campaigns WHERE id = $1 ${mode}) c`
      : `SELECT c.version, c.org_id, c.next_seq, (SELECT pg_advisory_xact_lock(hashtext($2), hashtext($3))) AS locked, ${zones}
         FROM (SELECT version, org_id, next_seq FROM ${schema}.campaigns WHERE id = $1 ${mode}) c`,
    thenLock === undefined ? [campaignId] : [campaignId, thenLock[0], thenLock[1]],
  );
  const row = rows[0];
  return row === undefined || row.version !== expected ? null : { orgId: row.org_id, nextSeq: Number(row.next_seq), zones: row.zones };
}

/**
 * The bulk-send rule (C6), inside the caller's transaction: `sent` conversations of the campaign just
 * stopped being pending. Counts them off the campaign's pending counter (the row lock serializes the
 * counting, so of concurrent steps the last one sees 0) and, when nothing is left, finishes the bulk
 * send in this same transaction. Returns the pending count left (0 when the campaign runs no bulk send)
 * and whether this step finished it.
 */
export async function settleBulkSend(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  sent: number,
  now: number,
): Promise<{ pending: number; finished: boolean }> {
  const { rows } = await client.query<{ bulk_pending: string }>(
    `UPDATE ${schema}.campaigns SET bulk_pending = bulk_pending - $2 WHERE id = $1 AND bulk_pending IS NOT NULL RETURNING bulk_pending`,
    [campaignId, sent],
  );
  if (rows[0] === undefined) return { pending: 0, finished: false };
  const pending = Number(rows[0].bulk_pending);
  if (pending > 0) return { pending, finished: false };
  const campaign = (await loadCampaign(client, schema, campaignId))!;
  const d = finishBulkSend(campaign, now);
  await client.query(`UPDATE ${schema}.campaigns SET bulk_pending = NULL WHERE id = $1`, [campaignId]);
  if (d.state !== campaign) await writeCampaign(client, schema, d.state);
  await insertEvents(client, schema, d.events);
  return { pending: 0, finished: d.state !== campaign };
}

/** Start counting a bulk send's pending initial messages (at launch), then settle it: a launch with nothing to send finishes at once. */
export async function startBulkSend(client: PgClientLike, schema: string, campaignId: string, now: number): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE ${schema}.campaigns SET bulk_pending = (SELECT count(*) FROM ${schema}.conversations WHERE campaign_id = $1 AND status = 0)
     WHERE id = $1 AND bulk_pending IS NULL`,
    [campaignId],
  );
  if ((rowCount ?? 0) > 0) await settleBulkSend(client, schema, campaignId, 0, now);
}

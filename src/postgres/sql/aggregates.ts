/**
 * Organizations and campaign aggregates: rows in, objects out. The aggregates are small — settings,
 * lifecycle, invite link; a campaign's fields live in a jsonb column next to the few the statements
 * filter on — and carry no roster: members and senders are rows of their own (`rosters.ts`).
 * @module
 */
import type { CampaignContext } from "../../storage/aggregates.js";
import type { CampaignListQuery, CampaignPage } from "../../storage/capabilities.js";
import type { Campaign, Organization, Role, Sender } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { positionCursor, sqlLimit } from "./rows.js";

/** A pool or a client inside a transaction. */
export type Queryable = Pick<PgClientLike, "query"> | PgPoolLike;

interface OrgRow {
  id: string;
  name: string;
  version: number;
  default_batch_size: number;
  created_at: string | number;
}

function toOrganization(row: OrgRow): Organization {
  return { id: row.id, name: row.name, version: row.version, defaultBatchSize: row.default_batch_size, createdAt: Number(row.created_at) };
}

/** Read an organization, or `null`. */
export async function loadOrganization(db: Queryable, schema: string, orgId: string): Promise<Organization | null> {
  const { rows } = await db.query<OrgRow>(`SELECT id, name, version, default_batch_size, created_at FROM ${schema}.organizations WHERE id = $1`, [orgId]);
  return rows[0] === undefined ? null : toOrganization(rows[0]);
}

/** A campaign row: the columns statements filter on, the rest in `data`. */
export interface CampaignRow {
  id: string;
  org_id: string;
  version: number;
  status: Campaign["status"];
  data: Omit<Campaign, "id" | "orgId" | "version" | "status">;
}

/** The columns of a {@link CampaignRow}. */
export const CAMPAIGN_COLUMNS = "id, org_id, version, status, data";

/** Row → Campaign. Rows written by earlier versions may carry a roster (`senders`, dropped) and lack `bulkSend` (`null`). */
export function toCampaign(row: CampaignRow): Campaign {
  const { senders: _senders, ...data } = row.data as CampaignRow["data"] & { senders?: unknown };
  return { ...data, bulkSend: data.bulkSend ?? null, id: row.id, orgId: row.org_id, version: row.version, status: row.status };
}

function dataOf(c: Campaign): CampaignRow["data"] {
  const { id: _id, orgId: _org, version: _v, status: _s, ...data } = c;
  return data;
}

/** Read a campaign, or `null`. */
export async function loadCampaign(db: Queryable, schema: string, campaignId: string): Promise<Campaign | null> {
  const { rows } = await db.query<CampaignRow>(`SELECT ${CAMPAIGN_COLUMNS} FROM ${schema}.campaigns WHERE id = $1`, [campaignId]);
  return rows[0] === undefined ? null : toCampaign(rows[0]);
}

/**
 * A campaign, its organization, and one user's role and sender row, in one round trip (two primary
 * key probes for the roster rows: O(1) whatever the size of the organization), or `null`.
 */
export async function loadContext(db: Queryable, schema: string, campaignId: string, userId: string): Promise<CampaignContext | null> {
  const { rows } = await db.query<
    CampaignRow & { org: OrgRow; role: Role | null; sender: { userId: string; addedAt: number; via: Sender["via"] } | null }
  >(
    `SELECT c.id, c.org_id, c.version, c.status, c.data, row_to_json(o) AS org,
            (SELECT m.role FROM ${schema}.org_members m WHERE m.org_id = c.org_id AND m.user_id = $2) AS role,
            (SELECT json_build_object('userId', s.user_id, 'addedAt', s.added_at, 'via', s.via)
               FROM ${schema}.campaign_senders s WHERE s.campaign_id = c.id AND s.user_id = $2) AS sender
     FROM ${schema}.campaigns c JOIN ${schema}.organizations o ON o.id = c.org_id
     WHERE c.id = $1`,
    [campaignId, userId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const sender = row.sender === null ? null : { userId: row.sender.userId, addedAt: Number(row.sender.addedAt), via: row.sender.via };
  return { campaign: toCampaign(row), organization: toOrganization(row.org), role: row.role, sender };
}

/** An organization's campaigns in the order they were created, a page at a time (cursor: the last position). */
export async function listCampaigns(db: Queryable, schema: string, query: CampaignListQuery): Promise<CampaignPage> {
  const limit = Number(sqlLimit(query.limit));
  const after = positionCursor(query.after);
  if (limit === 0) return { rows: [], cursor: null };
  const { rows } = await db.query<CampaignRow & { position: string }>(
    `SELECT ${CAMPAIGN_COLUMNS}, position FROM ${schema}.campaigns WHERE org_id = $1 AND position > $2::bigint ORDER BY position LIMIT ${limit + 1}`,
    [query.orgId, after],
  );
  const page = rows.slice(0, limit);
  return { rows: page.map(toCampaign), cursor: rows.length > limit ? String(page[page.length - 1]!.position) : null };
}

/** Insert a new campaign row and its tokens (inside a transaction); `false` when the id is taken. */
export async function insertCampaignRow(client: PgClientLike, schema: string, c: Campaign): Promise<boolean> {
  const r = await client.query(
    `INSERT INTO ${schema}.campaigns (id, org_id, version, status, batch_size, data) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING`,
    [c.id, c.orgId, c.version, c.status, c.selfAssignment.batchSize, JSON.stringify(dataOf(c))],
  );
  if (r.rowCount === 0) return false;
  await syncTokens(client, schema, c);
  return true;
}

/** Replace a campaign row (the caller holds the campaign's exclusive lock, or settles its bulk send) and its tokens. */
export async function writeCampaign(client: PgClientLike, schema: string, c: Campaign): Promise<void> {
  await client.query(`UPDATE ${schema}.campaigns SET version = $2, status = $3, batch_size = $4, data = $5 WHERE id = $1`, [
    c.id,
    c.version,
    c.status,
    c.selfAssignment.batchSize,
    JSON.stringify(dataOf(c)),
  ]);
  await syncTokens(client, schema, c);
}

async function syncTokens(client: PgClientLike, schema: string, c: Campaign): Promise<void> {
  const tokens = [...c.invite.revokedTokens, ...(c.invite.token === null ? [] : [c.invite.token])];
  if (tokens.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.invite_tokens (token, campaign_id) SELECT t, $1 FROM unnest($2::text[]) AS t ON CONFLICT (token) DO NOTHING`,
    [c.id, tokens],
  );
}

/** The campaign owning a current or revoked invite token, or `null`. */
export async function findCampaignByToken(db: Queryable, schema: string, token: string): Promise<string | null> {
  const { rows } = await db.query<{ campaign_id: string }>(`SELECT campaign_id FROM ${schema}.invite_tokens WHERE token = $1`, [token]);
  return rows[0]?.campaign_id ?? null;
}

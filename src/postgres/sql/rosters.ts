/**
 * Members and senders: sets of rows, the only home of either. Adding touches the added rows (one
 * statement however many: `INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING`), removing one row;
 * nothing rewrites or version-checks a roster, so adds and joins never conflict with each other or
 * with claims. Positions (the order rows were added) come from a sequence (the column default).
 *
 * Row locks keep the set rules inside the step:
 * - a user becoming a sender (an admin's add, an invite join) locks their member row `FOR KEY SHARE`,
 *   and removing a member locks it `FOR UPDATE` before looking for their sender rows — so a removal
 *   waits for a join in flight and then sees its sender row (refused `a_sender`), or a join waits for
 *   the removal and then finds no member (`not_a_member`): never a sender who is not a member (C3);
 * - role changes and removals lock the organization row `FOR NO KEY UPDATE` (adds, whose foreign key
 *   takes `FOR KEY SHARE`, do not wait for it), so two of them never both see another owner (last owner).
 * @module
 */
import type { MemberChange, RosterPage, RosterQuery, SenderChange } from "../../storage/aggregates.js";
import type { Member, Role, Sender } from "../../types.js";
import type { PgClientLike } from "../pg-like.js";
import type { Queryable } from "./aggregates.js";
import { positionCursor, sqlLimit } from "./rows.js";

interface RosterRow {
  user_id: string;
  role?: Role;
  added_at: string;
  via?: Sender["via"];
  position: string;
}

const toMember = (r: RosterRow): Member => ({ userId: r.user_id, role: r.role!, addedAt: Number(r.added_at) });
const toSender = (r: RosterRow): Sender => ({ userId: r.user_id, addedAt: Number(r.added_at), via: r.via! });

/** Members or senders in position order, a page at a time (cursor: the last position) or by user ids. */
export async function readRoster(db: Queryable, schema: string, q: RosterQuery): Promise<RosterPage> {
  const limit = Number(sqlLimit(q.limit));
  const members = q.roster === "members";
  const values: unknown[] = [members ? q.orgId : q.campaignId, positionCursor(q.after)];
  if (limit === 0) return { rows: [], cursor: null };
  const keyColumn = members ? "org_id" : "campaign_id";
  const columns = `${members ? "user_id, role, added_at" : "user_id, added_at, via"}, position, ${keyColumn} AS roster`;
  const table = `${schema}.${members ? "org_members" : "campaign_senders"}`;
  let text: string;
  if (q.userIds !== undefined) {
    // By user ids: primary-key probes, then sorted. The organization or campaign is hidden from the
    // planner (an init-plan value: see CAMPAIGN in claim.ts) so it plans for an average roster, not
    // for what stale statistics say about this one (a roster grown since the last ANALYZE looks like
    // one row, and the look-up then walked it in position order); `OFFSET 0` keeps the sort outside.
    values.push([...q.userIds]);
    text = `SELECT * FROM (SELECT ${columns} FROM ${table} WHERE ${keyColumn} = (SELECT $1::text) AND user_id = ANY($3::text[]) AND position > $2::bigint OFFSET 0) r
            ORDER BY position LIMIT ${limit + 1}`;
  } else {
    // A page: the position index read in its own order from (roster, cursor) on, whatever the
    // statistics (a plan from an estimate of a few rows sorted the whole roster for each page); the
    // rows past the roster's last one belong to the next roster and are dropped.
    text = `SELECT * FROM (SELECT ${columns} FROM ${table} WHERE (${keyColumn}, position) > ($1, $2::bigint) ORDER BY ${keyColumn}, position LIMIT ${limit + 1}) r
            WHERE roster = $1`;
  }
  const { rows } = await db.query<RosterRow>(text, values);
  const page = rows.slice(0, limit);
  return {
    rows: members ? page.map(toMember) : page.map(toSender),
    cursor: rows.length > limit ? String(page[page.length - 1]!.position) : null,
  };
}

/** What a member change did, or why it was refused (nothing written then: the caller rolls back). */
export type MemberResult =
  | { readonly kind: "refused"; readonly reason: "not_a_member" | "last_owner" | "a_sender"; readonly campaignIds: readonly string[] }
  | { readonly kind: "done"; readonly added: readonly string[]; readonly existing: readonly string[]; readonly before: Member | null };

/** Apply a member change inside the caller's transaction; see {@link MemberChange}. */
export async function changeMembers(client: PgClientLike, schema: string, orgId: string, change: MemberChange, now: number): Promise<MemberResult> {
  if (change.kind === "add") {
    const users = change.members.map((m) => m.userId);
    const { rows } = await client.query<{ user_id: string }>(
      `INSERT INTO ${schema}.org_members (org_id, user_id, role, added_at)
       SELECT $1, u, r, $4 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(u, r, n) ORDER BY n
       ON CONFLICT (org_id, user_id) DO NOTHING RETURNING user_id`,
      [orgId, users, change.members.map((m) => m.role), now],
    );
    const fresh = new Set(rows.map((r) => r.user_id));
    return { kind: "done", added: users.filter((u) => fresh.has(u)), existing: users.filter((u) => !fresh.has(u)), before: null };
  }
  // One role change or removal at a time per organization (the last-owner rule reads the other owners).
  await client.query(`SELECT 1 FROM ${schema}.organizations WHERE id = $1 FOR NO KEY UPDATE`, [orgId]);
  const { rows } = await client.query<RosterRow & { other_owner: boolean }>(
    `SELECT user_id, role, added_at, position,
            EXISTS (SELECT 1 FROM ${schema}.org_members o WHERE o.org_id = $1 AND o.role = 'owner' AND o.user_id <> $2) AS other_owner
     FROM ${schema}.org_members WHERE org_id = $1 AND user_id = $2 ${change.kind === "remove" ? "FOR UPDATE" : "FOR NO KEY UPDATE"}`,
    [orgId, change.userId],
  );
  const row = rows[0];
  if (row === undefined) return { kind: "refused", reason: "not_a_member", campaignIds: [] };
  const before = toMember(row);
  const losesOwner = before.role === "owner" && (change.kind === "remove" || change.role !== "owner");
  if (losesOwner && !row.other_owner) return { kind: "refused", reason: "last_owner", campaignIds: [] };
  if (change.kind === "set_role") {
    if (change.role !== before.role) {
      await client.query(`UPDATE ${schema}.org_members SET role = $3 WHERE org_id = $1 AND user_id = $2`, [orgId, change.userId, change.role]);
    }
    return { kind: "done", added: [], existing: [], before };
  }
  // The member row is locked: a join in flight has committed its sender row, and no new one can start.
  const senders = await client.query<{ campaign_id: string }>(
    `SELECT DISTINCT s.campaign_id FROM ${schema}.campaign_senders s JOIN ${schema}.campaigns c ON c.id = s.campaign_id
     WHERE s.user_id = $2 AND c.org_id = $1 AND c.status <> 'archived' ORDER BY s.campaign_id`,
    [orgId, change.userId],
  );
  if (senders.rows.length > 0) return { kind: "refused", reason: "a_sender", campaignIds: senders.rows.map((r) => r.campaign_id) };
  await client.query(`DELETE FROM ${schema}.org_members WHERE org_id = $1 AND user_id = $2`, [orgId, change.userId]);
  return { kind: "done", added: [], existing: [], before };
}

/** What a sender change did, or why it was refused. */
export type SenderResult =
  | { readonly kind: "refused"; readonly reason: "not_members" | "not_senders"; readonly userIds: readonly string[] }
  | { readonly kind: "done"; readonly added: readonly string[] };

/**
 * Apply a sender change inside the caller's transaction (which holds the campaign's exclusive lock);
 * see {@link SenderChange}. An add locks the users' member rows `FOR KEY SHARE` (C3, above).
 */
export async function changeSenders(client: PgClientLike, schema: string, campaign: { id: string; orgId: string }, change: SenderChange, now: number): Promise<SenderResult> {
  if (change.kind === "remove") {
    const { rowCount } = await client.query(`DELETE FROM ${schema}.campaign_senders WHERE campaign_id = $1 AND user_id = $2`, [campaign.id, change.userId]);
    return (rowCount ?? 0) === 0 ? { kind: "refused", reason: "not_senders", userIds: [change.userId] } : { kind: "done", added: [] };
  }
  const users = [...change.userIds];
  if (users.length === 0) return { kind: "done", added: [] };
  // One statement: lock the member rows, and insert only when every user is a member.
  const { rows } = await client.query<{ strangers: string[]; added: string[] }>(
    `WITH input AS (SELECT u, n FROM unnest($2::text[]) WITH ORDINALITY AS t(u, n)),
     members AS (SELECT user_id FROM ${schema}.org_members WHERE org_id = $5 AND user_id = ANY($2::text[]) FOR KEY SHARE),
     strangers AS (SELECT u, n FROM input WHERE u NOT IN (SELECT user_id FROM members)),
     added AS (
       INSERT INTO ${schema}.campaign_senders (campaign_id, user_id, added_at, via)
       SELECT $1, i.u, $3, $4 FROM input i WHERE NOT EXISTS (SELECT 1 FROM strangers) ORDER BY i.n
       ON CONFLICT (campaign_id, user_id) DO NOTHING RETURNING user_id)
     SELECT (SELECT coalesce(array_agg(u ORDER BY n), '{}') FROM strangers) AS strangers,
            (SELECT coalesce(array_agg(user_id), '{}') FROM added) AS added`,
    [campaign.id, users, now, change.via, campaign.orgId],
  );
  const { strangers, added } = rows[0]!;
  if (strangers.length > 0) return { kind: "refused", reason: "not_members", userIds: strangers };
  const fresh = new Set(added);
  return { kind: "done", added: users.filter((u) => fresh.has(u)) };
}

/** Add one sender row for an invite join (the caller has locked the member row); `true` when added. */
export async function joinSender(client: PgClientLike, schema: string, campaignId: string, userId: string, now: number): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO ${schema}.campaign_senders (campaign_id, user_id, added_at, via) VALUES ($1, $2, $3, 'invite')
     ON CONFLICT (campaign_id, user_id) DO NOTHING`,
    [campaignId, userId, now],
  );
  return (rowCount ?? 0) > 0;
}

/** The targets of a move: every sender in roster order (`"senders"`), or the named users when all are senders. */
export async function moveTargets(
  client: PgClientLike,
  schema: string,
  campaignId: string,
  to: readonly string[] | "senders" | null,
): Promise<{ kind: "ok"; ids: string[] } | { kind: "refused"; userIds: string[] }> {
  if (to === null) return { kind: "ok", ids: [] };
  if (to === "senders") {
    const { rows } = await client.query<{ user_id: string }>(`SELECT user_id FROM ${schema}.campaign_senders WHERE campaign_id = $1 ORDER BY position`, [campaignId]);
    return { kind: "ok", ids: rows.map((r) => r.user_id) };
  }
  const { rows } = await client.query<{ user_id: string }>(
    `SELECT user_id FROM ${schema}.campaign_senders WHERE campaign_id = $1 AND user_id = ANY($2::text[])`,
    [campaignId, [...to]],
  );
  const senders = new Set(rows.map((r) => r.user_id));
  const strangers = to.filter((u) => !senders.has(u));
  return strangers.length > 0 ? { kind: "refused", userIds: strangers } : { kind: "ok", ids: [...to] };
}

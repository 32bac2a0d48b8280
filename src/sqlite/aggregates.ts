/**
 * Organizations and campaigns (small versioned JSON documents), their rosters (one row per member
 * and per sender, in the order they were added), the one-query context read, organization commits,
 * and the bulk-send rule (C6).
 * @module
 */
import {
  bulkSendRunning,
  finishBulkSend,
  memberFacts,
  statusCode,
  type Campaign,
  type CampaignContext,
  type CampaignListQuery,
  type CampaignPage,
  type Member,
  type MemberChange,
  type Organization,
  type OrganizationCommit,
  type OrganizationOutcome,
  type Role,
  type RosterPage,
  type RosterQuery,
  type Sender,
} from "../adapter.js";
import { type Connection, jsonList, parsePosition, positionPage } from "./database.js";
import { recordFacts } from "./facts.js";
import { toCampaign, toOrganization } from "./rows.js";

/** The organization, or `null`. */
export function getOrganization(c: Connection, orgId: string): Organization | null {
  const row = c.one<{ data: string }>("SELECT data FROM organizations WHERE id = ?", orgId);
  return row === undefined ? null : toOrganization(row.data);
}

/** The campaign, or `null`. */
export function getCampaign(c: Connection, campaignId: string): Campaign | null {
  const row = c.one<{ data: string }>("SELECT data FROM campaigns WHERE id = ?", campaignId);
  return row === undefined ? null : toCampaign(row.data);
}

/** The campaign whose current or revoked invite token is `token`, or `null`. */
export function findCampaignByToken(c: Connection, token: string): string | null {
  return c.one<{ campaign_id: string }>("SELECT campaign_id FROM invite_tokens WHERE token = ?", token)?.campaign_id ?? null;
}

/** Insert (`insert`) or replace a campaign, and keep every token it ever had findable. */
export function saveCampaign(c: Connection, campaign: Campaign, insert: boolean): void {
  const data = JSON.stringify(campaign);
  if (insert) {
    c.run(
      "INSERT INTO campaigns (id, org_id, version, data, pos) VALUES (?, ?, ?, ?, (SELECT coalesce(max(pos), 0) + 1 FROM campaigns WHERE org_id = ?))",
      campaign.id,
      campaign.orgId,
      campaign.version,
      data,
      campaign.orgId,
    );
  } else {
    c.run("UPDATE campaigns SET version = ?, data = ? WHERE id = ?", campaign.version, data, campaign.id);
  }
  const tokens = [...campaign.invite.revokedTokens, ...(campaign.invite.token === null ? [] : [campaign.invite.token])];
  for (const t of tokens) c.run("INSERT OR IGNORE INTO invite_tokens (token, campaign_id) VALUES (?, ?)", t, campaign.id);
}

/**
 * The bulk-send rule (C6), inside a step: when the campaign's bulk send runs and no conversation is
 * `not_started` any more, store `finishBulkSend` and record its facts. Returns the campaign as stored.
 */
export function applyBulkSendRule(c: Connection, campaign: Campaign, now: number): Campaign {
  if (!bulkSendRunning(campaign)) return campaign;
  const pending = c.one(`SELECT 1 FROM conversations INDEXED BY conversations_pending WHERE campaign_id = ? AND status = ${statusCode("not_started")} LIMIT 1`, campaign.id);
  if (pending !== undefined) return campaign;
  const finished = finishBulkSend(campaign, now);
  saveCampaign(c, finished.state, false);
  recordFacts(c, finished.facts);
  return finished.state;
}

/** {@link applyBulkSendRule} for a campaign by id; true when it finished the bulk send. */
export function applyBulkSendRuleTo(c: Connection, campaignId: string, now: number): boolean {
  const campaign = getCampaign(c, campaignId);
  return campaign !== null && applyBulkSendRule(c, campaign, now) !== campaign;
}

// ------------------------------------------------------------------ rosters

interface MemberRow {
  user_id: string;
  role: Role;
  added_at: number;
  pos: number;
}

interface SenderRow {
  user_id: string;
  added_at: number;
  via: "admin" | "invite";
  pos: number;
}

const toMember = (r: MemberRow): Member => ({ userId: r.user_id, role: r.role, addedAt: r.added_at });
const toSender = (r: SenderRow): Sender => ({ userId: r.user_id, addedAt: r.added_at, via: r.via });

const ROSTERS = {
  members: { sql: "SELECT user_id, role, added_at, pos FROM members WHERE org_id = ?", row: toMember },
  senders: { sql: "SELECT user_id, added_at, via, pos FROM senders WHERE campaign_id = ?", row: toSender },
} as const;

/**
 * Roster rows in the order they were added, after a cursor (the last row's `pos`), by the
 * `(scope, pos)` index. A cursor this adapter did not give reads as the end: an empty last page.
 */
export function readRoster(c: Connection, q: RosterQuery): RosterPage {
  const after = parsePosition(q.after);
  if (after === null) return { rows: [], cursor: null };
  const limit = Math.max(0, Math.floor(q.limit));
  const roster = ROSTERS[q.roster];
  const byUser = q.userIds === undefined ? "" : " AND user_id IN (SELECT value FROM json_each(?))";
  const rows = c.all<MemberRow & SenderRow>(
    `${roster.sql} AND pos > ?${byUser} ORDER BY pos LIMIT ?`,
    q.roster === "members" ? q.orgId : q.campaignId,
    after,
    ...(q.userIds === undefined ? [] : [jsonList(q.userIds)]),
    limit + 1,
  );
  return positionPage<MemberRow & SenderRow, Member | Sender>(rows, limit, after, (r) => roster.row(r));
}

/** An organization's campaigns in the order they were created (`pos`, by the `(org_id, pos)` index), a page at a time. */
export function listCampaigns(c: Connection, q: CampaignListQuery): CampaignPage {
  const after = parsePosition(q.after);
  if (after === null) return { rows: [], cursor: null };
  const limit = Math.max(0, Math.floor(q.limit));
  const rows = c.all<{ data: string; pos: number }>("SELECT data, pos FROM campaigns WHERE org_id = ? AND pos > ? ORDER BY pos LIMIT ?", q.orgId, after, limit + 1);
  return positionPage(rows, limit, after, (r) => toCampaign(r.data));
}

/** A member row, or `null`. */
function member(c: Connection, orgId: string, userId: string): Member | null {
  const row = c.one<MemberRow>("SELECT user_id, role, added_at, pos FROM members WHERE org_id = ? AND user_id = ?", orgId, userId);
  return row === undefined ? null : toMember(row);
}

/** The campaign, its organization, and one user's role and sender row: one query over four primary keys. */
export function getContext(c: Connection, campaignId: string, userId: string): CampaignContext | null {
  const row = c.one<{ campaign: string; organization: string; role: Role | null; added_at: number | null; via: "admin" | "invite" | null }>(
    `SELECT c.data AS campaign, o.data AS organization, m.role AS role, s.added_at AS added_at, s.via AS via
     FROM campaigns c JOIN organizations o ON o.id = c.org_id
     LEFT JOIN members m ON m.org_id = c.org_id AND m.user_id = ?
     LEFT JOIN senders s ON s.campaign_id = c.id AND s.user_id = ?
     WHERE c.id = ?`,
    userId,
    userId,
    campaignId,
  );
  if (row === undefined) return null;
  return {
    campaign: toCampaign(row.campaign),
    organization: toOrganization(row.organization),
    role: row.role,
    sender: row.via === null ? null : { userId, addedAt: row.added_at!, via: row.via },
  };
}

// ------------------------------------------------------------------ organization commits

/** Why a role change or removal may not happen, checked on the rows inside the step; `null` when it may. */
function memberRefusal(c: Connection, orgId: string, change: Exclude<MemberChange, { kind: "add" }>, before: Member | null): OrganizationOutcome | null {
  const refused = (reason: "not_a_member" | "last_owner" | "a_sender", campaignIds: readonly string[] = []) => ({ kind: "refused", reason, campaignIds }) as const;
  if (before === null) return refused("not_a_member");
  const losesOwner = before.role === "owner" && (change.kind === "remove" || change.role !== "owner");
  if (losesOwner && c.one<{ n: number }>("SELECT count(*) AS n FROM (SELECT 1 FROM members WHERE org_id = ? AND role = 'owner' LIMIT 2)", orgId)!.n < 2) {
    return refused("last_owner");
  }
  if (change.kind === "remove") {
    const campaigns = c.all<{ id: string }>(
      `SELECT s.campaign_id AS id FROM senders s JOIN campaigns c ON c.id = s.campaign_id
       WHERE s.user_id = ? AND c.org_id = ? AND json_extract(c.data, '$.status') <> 'archived' ORDER BY s.campaign_id`,
      change.userId,
      orgId,
    );
    if (campaigns.length > 0) return refused("a_sender", campaigns.map((r) => r.id));
  }
  return null;
}

/** One organization commit: the version (or existence) check, the member rules, then the writes and facts. */
export function commitOrganization(c: Connection, commit: OrganizationCommit): OrganizationOutcome {
  const stored = c.one<{ version: number }>("SELECT version FROM organizations WHERE id = ?", commit.orgId);
  if (commit.next !== null && commit.expectedVersion === null) {
    if (stored !== undefined) return { kind: "exists" };
  } else if (stored === undefined || (commit.next !== null && stored.version !== commit.expectedVersion)) {
    return { kind: "conflict" };
  }
  const change = commit.members;
  const before = change === null || change.kind === "add" ? null : member(c, commit.orgId, change.userId);
  if (change !== null && change.kind !== "add") {
    const refusal = memberRefusal(c, commit.orgId, change, before);
    if (refusal !== null) return refusal;
  }
  if (commit.next !== null) {
    const data = JSON.stringify(commit.next);
    if (stored === undefined) c.run("INSERT INTO organizations (id, version, data) VALUES (?, ?, ?)", commit.orgId, commit.next.version, data);
    else c.run("UPDATE organizations SET version = ?, data = ? WHERE id = ?", commit.next.version, data, commit.orgId);
  }
  const added: string[] = [];
  const existing: string[] = [];
  if (change?.kind === "add") {
    for (const m of change.members) {
      const inserted = c.run("INSERT OR IGNORE INTO members (org_id, user_id, role, added_at) VALUES (?, ?, ?, ?)", commit.orgId, m.userId, m.role, commit.context.at);
      (inserted > 0 ? added : existing).push(m.userId);
    }
  } else if (change?.kind === "set_role") {
    c.run("UPDATE members SET role = ? WHERE org_id = ? AND user_id = ?", change.role, commit.orgId, change.userId);
  } else if (change?.kind === "remove") {
    c.run("DELETE FROM members WHERE org_id = ? AND user_id = ?", commit.orgId, change.userId);
  }
  recordFacts(c, [...commit.facts, ...(change === null ? [] : memberFacts(commit.context, change, { added, before }))]);
  return { kind: "committed", added, existing, before };
}

/**
 * The SQLite storage adapter, on better-sqlite3 (an optional peer dependency): persistent, embedded,
 * one file. Written only from the public storage contract and docs/custom-adapter.md — it imports
 * nothing but the public `selfassign` entry — as the proof that a third party can write an adapter.
 *
 * better-sqlite3 is synchronous, so every contract method runs as one `BEGIN IMMEDIATE` transaction
 * inside one call: atomic, and serialized against every other writer (in this process and, through
 * SQLite's file lock, in others).
 * @module
 */
import {
  CONVERSATION_STATUSES,
  bulkSendRunning,
  finishBulkSend,
  handOutRank,
  type AcknowledgeOutcome,
  type AcknowledgeRequest,
  type LeaseOutcome,
  type LeaseRequest,
  type StaleReleaseRequest,
  type Campaign,
  type CampaignCommit,
  type CampaignWithOrganization,
  type ClaimOutcome,
  type ClaimRequest,
  type CommitOutcome,
  type Conversation,
  type ConversationStatus,
  type ConversationsOverview,
  type EventDraft,
  type ImportOutcome,
  type ImportRequest,
  type ListQuery,
  type MoveSpec,
  type Moved,
  type OptOutOutcome,
  type OptOutRequest,
  type Organization,
  type ReleaseOutcome,
  type ReleaseRequest,
  type SelfAssignEvent,
  type StatusChange,
  type StatusOutcome,
  type StatusSet,
  type StorageAdapter,
} from "../index.js";

/** What running a statement reports. */
export interface SqliteRunResult {
  /** Rows changed. */
  readonly changes: number;
}

/** A transaction-wrapped function, as better-sqlite3's `db.transaction(fn)` returns it. */
export interface SqliteTransactionLike<T> {
  /** Run in a deferred transaction. */
  (): T;
  /** Run in a `BEGIN IMMEDIATE` transaction. */
  immediate(): T;
}

/** A prepared statement, as better-sqlite3 gives it. */
export interface SqliteStatementLike {
  /** Execute; returns the number of changed rows. */
  run(...params: unknown[]): SqliteRunResult;
  /** First row, or `undefined`. */
  get(...params: unknown[]): unknown;
  /** All rows. */
  all(...params: unknown[]): unknown[];
}

/** The part of a better-sqlite3 `Database` the adapter uses. */
export interface SqliteDatabaseLike {
  /** Prepare a statement. */
  prepare(sql: string): SqliteStatementLike;
  /** Run SQL text with no parameters. */
  exec(sql: string): unknown;
  /** Wrap a function in a transaction; `.immediate` takes the write lock at BEGIN. */
  transaction<T>(fn: () => T): SqliteTransactionLike<T>;
}

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /** An open better-sqlite3 database (`new Database("selfassign.db")`). */
  readonly database: SqliteDatabaseLike;
}

/** The SQLite adapter: the storage contract plus `migrate()`. */
export interface SqliteStorage extends StorageAdapter {
  /** Create the tables if missing (idempotent); sets WAL mode, foreign keys and a busy timeout. */
  migrate(): void;
}

/** Create the SQLite adapter over an open better-sqlite3 database. Call `migrate()` once. */
export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  if (typeof options?.database?.prepare !== "function") {
    throw new TypeError("createSqliteStorage needs { database }: an open better-sqlite3 Database.");
  }
  return new SqliteAdapter(options.database);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS organizations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), version INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS campaigns_org ON campaigns(org_id);
CREATE TABLE IF NOT EXISTS invite_tokens (token TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id));
CREATE TABLE IF NOT EXISTS conversations (
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  seq INTEGER NOT NULL,
  contact_id TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5),
  rank INTEGER NOT NULL CHECK (rank BETWEEN 0 AND 4),
  sort_key INTEGER NOT NULL,
  assignee TEXT,
  assigned_at INTEGER,
  reply_at INTEGER,
  contact_tz TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  PRIMARY KEY (campaign_id, seq),
  UNIQUE (campaign_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_pool ON conversations(campaign_id, rank, sort_key, seq) WHERE assignee IS NULL AND rank <= 2;
CREATE INDEX IF NOT EXISTS conversations_pending ON conversations(campaign_id, seq) WHERE status = 0;
CREATE INDEX IF NOT EXISTS conversations_holder ON conversations(campaign_id, assignee) WHERE assignee IS NOT NULL;
CREATE TABLE IF NOT EXISTS opt_outs (org_id TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (org_id, contact_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claim_keys (
  campaign_id TEXT NOT NULL, texter_id TEXT NOT NULL, key TEXT NOT NULL, conversations TEXT NOT NULL,
  PRIMARY KEY (campaign_id, texter_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, at INTEGER NOT NULL, org_id TEXT NOT NULL,
  campaign_id TEXT, actor_id TEXT, data TEXT NOT NULL
);
`;

interface Row {
  campaign_id: string;
  seq: number;
  contact_id: string;
  status: number;
  assignee: string | null;
  assigned_at: number | null;
  reply_at: number | null;
  contact_tz: string | null;
}

const COLUMNS = "campaign_id, seq, contact_id, status, assignee, assigned_at, reply_at, contact_tz";
const code = (s: ConversationStatus) => CONVERSATION_STATUSES.indexOf(s);
const rankOf = (s: ConversationStatus) => handOutRank(s) ?? (s === "closed" ? 3 : 4);
const ORDER = "ORDER BY rank, sort_key, seq";

function idOf(campaignId: string, seq: number): string {
  return `${campaignId}:${seq}`;
}

function parseId(id: string): { campaignId: string; seq: number } | null {
  const cut = id.lastIndexOf(":");
  const rest = id.slice(cut + 1);
  return cut <= 0 || !/^(0|[1-9][0-9]{0,14})$/.test(rest) ? null : { campaignId: id.slice(0, cut), seq: Number(rest) };
}

function toConversation(r: Row): Conversation {
  return {
    id: idOf(r.campaign_id, r.seq),
    campaignId: r.campaign_id,
    contactId: r.contact_id,
    status: CONVERSATION_STATUSES[r.status]!,
    assigneeId: r.assignee,
    assignedAt: r.assigned_at,
    replyAt: r.reply_at,
    contactTimeZone: r.contact_tz,
    seq: r.seq,
  };
}

/** A stored campaign; rows written before bulk-send state existed have no `bulkSend`. */
function toCampaign(data: string): Campaign {
  const c = JSON.parse(data) as Campaign;
  return c.bulkSend === undefined ? { ...c, bulkSend: null } : c;
}

function statusWhere(set: StatusSet): string {
  switch (set) {
    case "all":
      return "1";
    case "open":
      return "rank <= 2";
    case "started":
      return "rank IN (0, 2)";
    case "needs_reply":
      return `status = ${code("needs_reply")}`;
    case "not_started":
      return `status = ${code("not_started")}`;
  }
}

class SqliteAdapter implements SqliteStorage {
  private readonly statements = new Map<string, SqliteStatementLike>();

  constructor(private readonly db: SqliteDatabaseLike) {}

  migrate(): void {
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
    this.db.exec(SCHEMA);
    // A bulk send started before its state was stored: mark it running, so the step that leaves nothing pending finishes it.
    this.db.exec(`UPDATE campaigns SET data = json_set(data, '$.bulkSend', json('{"finishedAt":null}'))
      WHERE json_extract(data, '$.status') = 'bulk_sending' AND json_type(data, '$.bulkSend') IS NULL`);
  }

  private sql(text: string): SqliteStatementLike {
    let s = this.statements.get(text);
    if (s === undefined) this.statements.set(text, (s = this.db.prepare(text)));
    return s;
  }

  /** One atomic step: BEGIN IMMEDIATE … COMMIT, rolled back if `fn` throws. */
  private write<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.db.transaction(fn).immediate());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private record(events: readonly EventDraft[]): void {
    const insert = this.sql("INSERT INTO events (type, at, org_id, campaign_id, actor_id, data) VALUES (?, ?, ?, ?, ?, ?)");
    for (const e of events) insert.run(e.type, e.at, e.orgId, e.campaignId, e.actorId, JSON.stringify(e.data));
  }

  private version(campaignId: string): number | undefined {
    return (this.sql("SELECT version FROM campaigns WHERE id = ?").get(campaignId) as { version: number } | undefined)?.version;
  }

  /** The bulk-send rule (C6): inside a step, finish a running bulk send that has nothing pending. */
  private finishIfDone(campaignId: string, now: number): boolean {
    const row = this.sql("SELECT data FROM campaigns WHERE id = ?").get(campaignId) as { data: string } | undefined;
    const campaign = row === undefined ? null : (toCampaign(row.data));
    if (campaign === null || !bulkSendRunning(campaign)) return false;
    if (this.sql("SELECT 1 FROM conversations WHERE campaign_id = ? AND status = 0 LIMIT 1").get(campaignId) !== undefined) return false;
    const d = finishBulkSend(campaign, now);
    this.saveCampaign(d.state);
    this.record(d.events);
    return true;
  }

  private saveCampaign(c: Campaign): void {
    this.sql("UPDATE campaigns SET version = ?, data = ? WHERE id = ?").run(c.version, JSON.stringify(c), c.id);
    const tokens = [...c.invite.revokedTokens, ...(c.invite.token === null ? [] : [c.invite.token])];
    const insert = this.sql("INSERT OR IGNORE INTO invite_tokens (token, campaign_id) VALUES (?, ?)");
    for (const t of tokens) insert.run(t, c.id);
  }

  // ------------------------------------------------------------------ aggregates

  insertOrganization(org: Organization, events: readonly EventDraft[]) {
    return this.write(() => {
      if (this.sql("INSERT OR IGNORE INTO organizations (id, version, data) VALUES (?, ?, ?)").run(org.id, org.version, JSON.stringify(org)).changes === 0) {
        return "exists" as const;
      }
      this.record(events);
      return "ok" as const;
    });
  }

  getOrganization(orgId: string) {
    return this.read(() => {
      const row = this.sql("SELECT data FROM organizations WHERE id = ?").get(orgId) as { data: string } | undefined;
      return row === undefined ? null : (JSON.parse(row.data) as Organization);
    });
  }

  updateOrganization(next: Organization, expectedVersion: number, events: readonly EventDraft[]) {
    return this.write(() => {
      const r = this.sql("UPDATE organizations SET version = ?, data = ? WHERE id = ? AND version = ?").run(next.version, JSON.stringify(next), next.id, expectedVersion);
      if (r.changes === 0) return "conflict" as const;
      this.record(events);
      return "ok" as const;
    });
  }

  insertCampaign(campaign: Campaign, events: readonly EventDraft[]) {
    return this.write(() => {
      const r = this.sql("INSERT OR IGNORE INTO campaigns (id, org_id, version, data) VALUES (?, ?, ?, ?)").run(
        campaign.id,
        campaign.orgId,
        campaign.version,
        JSON.stringify(campaign),
      );
      if (r.changes === 0) return "exists" as const;
      this.saveCampaign(campaign);
      this.record(events);
      return "ok" as const;
    });
  }

  getCampaign(campaignId: string) {
    return this.read(() => {
      const row = this.sql("SELECT data FROM campaigns WHERE id = ?").get(campaignId) as { data: string } | undefined;
      return row === undefined ? null : (toCampaign(row.data));
    });
  }

  getCampaignWithOrganization(campaignId: string): Promise<CampaignWithOrganization | null> {
    return this.read(() => {
      const row = this.sql(
        "SELECT c.data AS campaign, o.data AS org FROM campaigns c JOIN organizations o ON o.id = c.org_id WHERE c.id = ?",
      ).get(campaignId) as { campaign: string; org: string } | undefined;
      return row === undefined ? null : { campaign: toCampaign(row.campaign), organization: JSON.parse(row.org) as Organization };
    });
  }

  listCampaigns(orgId: string) {
    return this.read(() =>
      (this.sql("SELECT data FROM campaigns WHERE org_id = ? ORDER BY id").all(orgId) as { data: string }[]).map((r) => toCampaign(r.data)),
    );
  }

  findCampaignIdByInviteToken(token: string) {
    return this.read(() => (this.sql("SELECT campaign_id FROM invite_tokens WHERE token = ?").get(token) as { campaign_id: string } | undefined)?.campaign_id ?? null);
  }

  // ------------------------------------------------------------------ moves and claims

  private runMove(campaignId: string, move: MoveSpec, now: number): Moved[] {
    if (move.from.kind === "unassigned" && move.to === null) return [];
    const source =
      move.from.kind === "unassigned"
        ? "assignee IS NULL AND rank <= 2"
        : move.from.kind === "all_holders"
          ? "assignee IS NOT NULL"
          : `assignee IN (SELECT value FROM json_each(?))`;
    const params: unknown[] = [campaignId];
    if (move.from.kind === "holders") params.push(JSON.stringify(move.from.holderIds));
    const rows = this.sql(
      `SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND ${source} AND ${statusWhere(move.statuses)} ${ORDER}${move.limit === null ? "" : ` LIMIT ${Math.floor(move.limit)}`}`,
    ).all(...params) as Row[];
    const update = this.sql("UPDATE conversations SET assignee = ?, assigned_at = ? WHERE campaign_id = ? AND seq = ?");
    return rows.map((r, i) => {
      const to = move.to === null ? null : move.to[i % move.to.length]!;
      if (to !== null && r.status === code("opted_out")) throw new Error("storage contract: opted-out conversations are never assigned (O3)");
      const fromHolder = r.assignee;
      if (to !== fromHolder) {
        r.assignee = to;
        r.assigned_at = to === null ? null : now;
        update.run(r.assignee, r.assigned_at, campaignId, r.seq);
      }
      return { conversation: toConversation(r), fromHolder };
    });
  }

  commitCampaign(commit: CampaignCommit): Promise<CommitOutcome> {
    return this.write((): CommitOutcome => {
      if (this.version(commit.campaignId) !== commit.expectedVersion) return { kind: "conflict" };
      if (commit.next !== null) this.saveCampaign(commit.next);
      const moved = commit.moves.map((m) => this.runMove(commit.campaignId, m, commit.now));
      this.record(commit.events(moved));
      this.finishIfDone(commit.campaignId, commit.now);
      return { kind: "committed", moved };
    });
  }

  importConversations(request: ImportRequest): Promise<ImportOutcome> {
    return this.write((): ImportOutcome => {
      if (this.version(request.campaignId) !== request.expectedVersion) return { kind: "conflict" };
      const orgId = (this.sql("SELECT org_id FROM campaigns WHERE id = ?").get(request.campaignId) as { org_id: string }).org_id;
      let seq = (this.sql("SELECT coalesce(max(seq) + 1, 0) AS n FROM conversations WHERE campaign_id = ?").get(request.campaignId) as { n: number }).n;
      const optedOut = this.sql("SELECT 1 FROM opt_outs WHERE org_id = ? AND contact_id = ?");
      const insert = this.sql(
        "INSERT OR IGNORE INTO conversations (campaign_id, seq, contact_id, status, rank, sort_key, contact_tz) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      let created = 0;
      for (const c of request.contacts) {
        const status: ConversationStatus = optedOut.get(orgId, c.contactId) === undefined ? "not_started" : "opted_out";
        if (insert.run(request.campaignId, seq, c.contactId, code(status), rankOf(status), seq, c.timeZone ?? null).changes > 0) {
          created++;
          seq++;
        }
      }
      const counts = { created, skipped: request.contacts.length - created };
      this.record(request.events(counts));
      return { kind: "imported", ...counts };
    });
  }

  findClaimByKey(campaignId: string, texterId: string, key: string) {
    return this.read(() => {
      const row = this.sql("SELECT conversations FROM claim_keys WHERE campaign_id = ? AND texter_id = ? AND key = ?").get(campaignId, texterId, key) as
        | { conversations: string }
        | undefined;
      return row === undefined ? null : (JSON.parse(row.conversations) as Conversation[]);
    });
  }

  claim(req: ClaimRequest): Promise<ClaimOutcome> {
    return this.write((): ClaimOutcome => {
      if (this.version(req.campaignId) !== req.expectedVersion) return { kind: "conflict" };
      if (req.idempotencyKey !== null) {
        const previous = this.sql("SELECT conversations FROM claim_keys WHERE campaign_id = ? AND texter_id = ? AND key = ?").get(
          req.campaignId,
          req.texterId,
          req.idempotencyKey,
        ) as { conversations: string } | undefined;
        if (previous !== undefined) return { kind: "replayed", conversations: JSON.parse(previous.conversations) as Conversation[] };
      }
      if (req.next !== null) this.saveCampaign(req.next);
      const counts = this.sql(
        `SELECT count(*) AS held, coalesce(sum(status = ${code("not_started")}), 0) AS not_started, coalesce(sum(status = ${code("needs_reply")}), 0) AS needs_reply
         FROM conversations WHERE campaign_id = ? AND assignee = ?`,
      ).get(req.campaignId, req.texterId) as { held: number; not_started: number; needs_reply: number };
      const blocked = (reason: "batch_unfinished" | "cap_reached" | "holding"): ClaimOutcome => {
        this.record(req.events([]));
        return { kind: "blocked", reason };
      };
      if (req.onlyIfHoldingNone && counts.held > 0) return blocked("holding");
      if (
        (req.gate.maxNotStarted !== null && counts.not_started > req.gate.maxNotStarted) ||
        (req.gate.maxNeedsReply !== null && counts.needs_reply > req.gate.maxNeedsReply)
      ) {
        return blocked("batch_unfinished");
      }
      const room = req.maxHeld === null ? req.limit : Math.min(req.limit, req.maxHeld - counts.held);
      if (room <= 0) return blocked("cap_reached");
      const rows = this.sql(
        `SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND assignee IS NULL AND rank <= 2
           AND rank IN (SELECT value FROM json_each(?))
           AND NOT (rank = 1 AND contact_tz IS NOT NULL AND contact_tz IN (SELECT value FROM json_each(?))) ${ORDER} LIMIT ?`,
      ).all(req.campaignId, JSON.stringify(req.ranks), JSON.stringify(this.closedZones(req)), room) as Row[];
      const update = this.sql("UPDATE conversations SET assignee = ?, assigned_at = ? WHERE campaign_id = ? AND seq = ?");
      for (const r of rows) {
        update.run(req.texterId, req.now, req.campaignId, r.seq);
        r.assignee = req.texterId;
        r.assigned_at = req.now;
      }
      const conversations = rows.map(toConversation);
      this.record(req.events(conversations));
      if (req.idempotencyKey !== null && conversations.length > 0) {
        this.sql("INSERT INTO claim_keys (campaign_id, texter_id, key, conversations) VALUES (?, ?, ?, ?)").run(
          req.campaignId,
          req.texterId,
          req.idempotencyKey,
          JSON.stringify(conversations),
        );
      }
      return { kind: "claimed", conversations };
    });
  }

  /** The campaign's contact time zones that are outside texting hours now (T2). */
  private closedZones(req: ClaimRequest): string[] {
    const open = req.contactZoneOpen;
    if (open === null) return [];
    const zones = this.sql(
      "SELECT DISTINCT contact_tz AS tz FROM conversations WHERE campaign_id = ? AND status = 0 AND contact_tz IS NOT NULL",
    ).all(req.campaignId) as { tz: string }[];
    return zones.map((z) => z.tz).filter((z) => !open(z));
  }

  // ------------------------------------------------------------------ conversation writes

  private row(campaignId: string, seq: number): Row | undefined {
    return this.sql(`SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND seq = ?`).get(campaignId, seq) as Row | undefined;
  }

  release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    return this.write((): ReleaseOutcome => {
      const keys = req.conversationIds.map((id) => ({ id, key: parseId(id) }));
      const rows = keys.map((k) => (k.key !== null && k.key.campaignId === req.campaignId ? this.row(k.key.campaignId, k.key.seq) : undefined));
      const missing = keys.filter((_, i) => rows[i] === undefined).map((k) => k.id);
      if (missing.length > 0) return { kind: "not_found", conversationIds: missing };
      const notHeld = keys
        .filter((_, i) => rows[i]!.assignee === null || (req.holderId !== null && rows[i]!.assignee !== req.holderId))
        .map((k) => k.id);
      if (notHeld.length > 0) return { kind: "not_held", conversationIds: notHeld };
      const unique = [...new Map(rows.map((r) => [r!.seq, r!])).values()];
      const before = unique.map(toConversation);
      const update = this.sql("UPDATE conversations SET assignee = NULL, assigned_at = NULL WHERE campaign_id = ? AND seq = ?");
      for (const r of unique) update.run(req.campaignId, r.seq);
      this.record(req.events(before));
      return { kind: "released", conversations: before };
    });
  }

  recordStatus(change: StatusChange): Promise<StatusOutcome> {
    return this.write((): StatusOutcome => {
      const key = parseId(change.conversationId);
      const r = key === null || key.campaignId !== change.campaignId ? undefined : this.row(key.campaignId, key.seq);
      if (r === undefined) return { kind: "not_found" };
      const before = toConversation(r);
      if (!change.allowedFrom.includes(before.status)) return { kind: "invalid", current: before };
      const replyAt = change.to === "needs_reply" ? (before.status === "needs_reply" ? before.replyAt : change.now) : null;
      const rank = rankOf(change.to);
      this.sql("UPDATE conversations SET status = ?, rank = ?, reply_at = ?, sort_key = ? WHERE campaign_id = ? AND seq = ?").run(
        code(change.to),
        rank,
        replyAt,
        rank === 0 ? replyAt : r.seq,
        r.campaign_id,
        r.seq,
      );
      const after = toConversation(this.row(r.campaign_id, r.seq)!);
      this.record(change.events(before, after));
      if (before.status === "not_started") this.finishIfDone(r.campaign_id, change.now);
      return { kind: "changed", before, after };
    });
  }

  optOut(req: OptOutRequest): Promise<OptOutOutcome> {
    return this.write((): OptOutOutcome => {
      const alreadyOptedOut = this.sql("INSERT OR IGNORE INTO opt_outs (org_id, contact_id) VALUES (?, ?)").run(req.orgId, req.contactId).changes === 0;
      const rows = this.sql(
        `SELECT ${COLUMNS} FROM conversations WHERE campaign_id IN (SELECT id FROM campaigns WHERE org_id = ?) AND contact_id = ? AND status <> ? ORDER BY campaign_id, seq`,
      ).all(req.orgId, req.contactId, code("opted_out")) as Row[];
      const update = this.sql("UPDATE conversations SET status = ?, rank = ?, reply_at = NULL, sort_key = seq WHERE campaign_id = ? AND seq = ?");
      for (const r of rows) update.run(code("opted_out"), rankOf("opted_out"), r.campaign_id, r.seq);
      const before = rows.map(toConversation);
      this.record(req.events(before, alreadyOptedOut));
      for (const campaignId of new Set(rows.filter((r) => r.status === 0).map((r) => r.campaign_id))) this.finishIfDone(campaignId, req.now);
      return { changed: before, alreadyOptedOut };
    });
  }

  // ------------------------------------------------------------------ bulk send (C6)

  leaseInitialSends(req: LeaseRequest): Promise<LeaseOutcome> {
    return this.write((): LeaseOutcome => {
      const status = this.sql("SELECT json_extract(data, '$.status') AS status FROM campaigns WHERE id = ?").get(req.campaignId) as { status: string } | undefined;
      if (status?.status !== "bulk_sending") return { conversations: [], closedZones: [] };
      const open = req.contactZoneOpen;
      const zones = (this.sql("SELECT DISTINCT contact_tz AS tz FROM conversations WHERE campaign_id = ? AND status = 0 AND contact_tz IS NOT NULL").all(req.campaignId) as { tz: string }[]).map((r) => r.tz);
      const closed = open === null ? [] : zones.filter((z) => !open(z)).sort();
      const rows = this.sql(
        `SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND status = 0 AND (lease_until IS NULL OR lease_until <= ?)
         AND (contact_tz IS NULL OR contact_tz NOT IN (SELECT value FROM json_each(?))) ORDER BY seq LIMIT ?`,
      ).all(req.campaignId, req.now, JSON.stringify(closed), req.limit) as Row[];
      const lease = this.sql("UPDATE conversations SET lease_owner = ?, lease_until = ? WHERE campaign_id = ? AND seq = ?");
      for (const r of rows) lease.run(req.workerId, req.now + req.leaseMs, req.campaignId, r.seq);
      const waiting = this.sql(
        "SELECT 1 FROM conversations WHERE campaign_id = ? AND status = 0 AND contact_tz = ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1",
      );
      return { conversations: rows.map(toConversation), closedZones: closed.filter((z) => waiting.get(req.campaignId, z, req.now) !== undefined) };
    });
  }

  acknowledgeInitialSends(req: AcknowledgeRequest): Promise<AcknowledgeOutcome> {
    return this.write((): AcknowledgeOutcome => {
      const sent: Conversation[] = [];
      const rejected: string[] = [];
      const find = this.sql(`SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND seq = ? AND status = 0 AND lease_owner = ?`);
      const mark = this.sql(
        `UPDATE conversations SET status = ${code("initial_sent")}, rank = ${rankOf("initial_sent")}, sort_key = seq, lease_owner = NULL, lease_until = NULL
         WHERE campaign_id = ? AND seq = ?`,
      );
      for (const id of new Set(req.conversationIds)) {
        const key = parseId(id);
        const r = key === null || key.campaignId !== req.campaignId ? undefined : (find.get(key.campaignId, key.seq, req.workerId) as Row | undefined);
        if (r === undefined) {
          rejected.push(id);
          continue;
        }
        sent.push(toConversation(r));
        mark.run(r.campaign_id, r.seq);
      }
      this.record(req.events(sent));
      const finished = sent.length > 0 && this.finishIfDone(req.campaignId, req.now);
      const pending = (this.sql("SELECT count(*) AS n FROM conversations WHERE campaign_id = ? AND status = 0").get(req.campaignId) as { n: number }).n;
      return { sent, rejected, pending, finished };
    });
  }

  releaseStale(req: StaleReleaseRequest): Promise<readonly Conversation[]> {
    return this.write(() => {
      const rows = this.sql(
        `SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND assignee IS NOT NULL AND (
           (status = ${code("not_started")} AND ? IS NOT NULL AND assigned_at < ?) OR
           (status = ${code("needs_reply")} AND ? IS NOT NULL AND max(assigned_at, reply_at) < ?)
         ) ORDER BY seq`,
      ).all(req.campaignId, req.notStartedBefore, req.notStartedBefore, req.needsReplyBefore, req.needsReplyBefore) as Row[];
      const update = this.sql("UPDATE conversations SET assignee = NULL, assigned_at = NULL WHERE campaign_id = ? AND seq = ?");
      for (const r of rows) update.run(req.campaignId, r.seq);
      const before = rows.map(toConversation);
      this.record(req.events(before));
      return before;
    });
  }

  // ------------------------------------------------------------------ reads

  getConversation(conversationId: string) {
    return this.read(() => {
      const key = parseId(conversationId);
      const r = key === null ? undefined : this.row(key.campaignId, key.seq);
      return r === undefined ? null : toConversation(r);
    });
  }

  listConversations(q: ListQuery) {
    return this.read(() =>
      (
        this.sql(
          `SELECT ${COLUMNS} FROM conversations WHERE campaign_id = ? AND ${q.holderId === null ? "assignee IS NULL" : "assignee = ?"} AND ${statusWhere(q.statuses)} ${ORDER} LIMIT ?`,
        ).all(...(q.holderId === null ? [q.campaignId, q.limit] : [q.campaignId, q.holderId, q.limit])) as Row[]
      ).map(toConversation),
    );
  }

  overview(campaignId: string): Promise<ConversationsOverview> {
    return this.read(() => {
      const rows = this.sql("SELECT assignee, status, count(*) AS n FROM conversations WHERE campaign_id = ? GROUP BY assignee, status").all(campaignId) as {
        assignee: string | null;
        status: number;
        n: number;
      }[];
      const byStatus = Object.fromEntries(CONVERSATION_STATUSES.map((s) => [s, 0])) as Record<ConversationStatus, number>;
      const senders = new Map<string, { userId: string; held: number; notStarted: number; needsReply: number }>();
      const o = { total: 0, unassigned: 0, unassignedNotStarted: 0, unassignedNeedsReply: 0 };
      for (const r of rows) {
        const status = CONVERSATION_STATUSES[r.status]!;
        o.total += r.n;
        byStatus[status] += r.n;
        // Opted-out conversations count in the total only (O3, A1).
        if (status === "opted_out") continue;
        if (r.assignee === null) {
          o.unassigned += r.n;
          if (status === "not_started") o.unassignedNotStarted += r.n;
          if (status === "needs_reply") o.unassignedNeedsReply += r.n;
        } else {
          const s = senders.get(r.assignee) ?? { userId: r.assignee, held: 0, notStarted: 0, needsReply: 0 };
          s.held += r.n;
          if (status === "not_started") s.notStarted += r.n;
          if (status === "needs_reply") s.needsReply += r.n;
          senders.set(r.assignee, s);
        }
      }
      return { campaignId, ...o, byStatus, senders: [...senders.values()] };
    });
  }

  readEvents(after: number, limit: number): Promise<readonly SelfAssignEvent[]> {
    return this.read(() =>
      (
        this.sql("SELECT seq, type, at, org_id, campaign_id, actor_id, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?").all(after, limit) as {
          seq: number;
          type: string;
          at: number;
          org_id: string;
          campaign_id: string | null;
          actor_id: string | null;
          data: string;
        }[]
      ).map(
        (r) =>
          ({
            seq: r.seq,
            type: r.type,
            at: r.at,
            orgId: r.org_id,
            campaignId: r.campaign_id,
            actorId: r.actor_id,
            data: JSON.parse(r.data) as unknown,
          }) as SelfAssignEvent,
      ),
    );
  }
}

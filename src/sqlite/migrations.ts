/**
 * Versioned migrations, numbered in `PRAGMA user_version` (stored in the file's header, written in
 * the same transaction as the migration). A database with the tables of the first SQLite adapter and
 * `user_version` 0 is version 1. Every migration runs inside one `BEGIN IMMEDIATE` transaction that
 * re-reads the version first, so several connections or processes calling `migrate()` at once are
 * safe: the first migrates, the others wait for its lock and then find nothing to do.
 * @module
 */
import type { Campaign, Organization, Role, Sender } from "../adapter.js";
import type { Connection } from "./database.js";

/** The schema version this adapter writes. */
export const SCHEMA_VERSION = 3;

/** Version 1: the first SQLite adapter (rosters inside the organization and campaign JSON). */
const V1 = `
CREATE TABLE organizations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE campaigns (
  id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), version INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX campaigns_org ON campaigns(org_id);
CREATE TABLE invite_tokens (token TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id));
CREATE TABLE conversations (
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
CREATE INDEX conversations_pool ON conversations(campaign_id, rank, sort_key, seq) WHERE assignee IS NULL AND rank <= 2;
CREATE INDEX conversations_pending ON conversations(campaign_id, seq) WHERE status = 0;
CREATE INDEX conversations_holder ON conversations(campaign_id, assignee) WHERE assignee IS NOT NULL;
CREATE TABLE opt_outs (org_id TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (org_id, contact_id)) WITHOUT ROWID;
CREATE TABLE claim_keys (
  campaign_id TEXT NOT NULL, texter_id TEXT NOT NULL, key TEXT NOT NULL, conversations TEXT NOT NULL,
  PRIMARY KEY (campaign_id, texter_id, key)
) WITHOUT ROWID;
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, at INTEGER NOT NULL, org_id TEXT NOT NULL,
  campaign_id TEXT, actor_id TEXT, data TEXT NOT NULL
);
`;

/**
 * Version 2: sets are rows (members, senders: one row each, `pos` = the order they were added, never
 * reused); campaigns get `pos`, the order they were created in their organization; every listing is read by an index in hand-out order — the unassigned ones (`conversations_pool`,
 * also the claim's), a holder's, all — and the T2 zones and the fact filters are indexed.
 */
const V2 = `
CREATE TABLE members (
  pos INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id TEXT NOT NULL REFERENCES organizations(id),
  user_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'texter')),
  added_at INTEGER NOT NULL,
  UNIQUE (org_id, user_id)
);
CREATE INDEX members_order ON members(org_id, pos);
CREATE INDEX members_role ON members(org_id, role);
ALTER TABLE campaigns ADD COLUMN pos INTEGER;
CREATE UNIQUE INDEX campaigns_order ON campaigns(org_id, pos);
CREATE TABLE senders (
  pos INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  user_id TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  via TEXT NOT NULL CHECK (via IN ('admin', 'invite')),
  UNIQUE (campaign_id, user_id)
);
CREATE INDEX senders_order ON senders(campaign_id, pos);
CREATE INDEX senders_user ON senders(user_id);
DROP INDEX conversations_pool;
CREATE INDEX conversations_pool ON conversations(campaign_id, rank, sort_key, seq) WHERE assignee IS NULL;
DROP INDEX conversations_holder;
CREATE INDEX conversations_holder ON conversations(campaign_id, assignee, rank, sort_key, seq) WHERE assignee IS NOT NULL;
CREATE INDEX conversations_order ON conversations(campaign_id, rank, sort_key, seq);
CREATE INDEX conversations_zones ON conversations(campaign_id, contact_tz) WHERE status = 0 AND contact_tz IS NOT NULL;
CREATE TABLE consumers (name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX events_org ON events(org_id, seq);
CREATE INDEX events_campaign ON events(campaign_id, seq);
`;

type Legacy<T> = { -readonly [K in keyof T]: T[K] } & Record<string, unknown>;

/** Move version 1's JSON rosters into rows, keeping their order, and drop them from the JSON; number campaigns in creation order. */
function rostersToRows(c: Connection): void {
  for (const row of c.all<{ id: string; data: string }>("SELECT id, data FROM organizations ORDER BY rowid")) {
    const org = JSON.parse(row.data) as Legacy<Organization>;
    // Version 1 kept members as { userId: role } with no time: they count as added when the organization was created.
    for (const [userId, role] of Object.entries((org.members ?? {}) as Record<string, Role>)) {
      c.run("INSERT OR IGNORE INTO members (org_id, user_id, role, added_at) VALUES (?, ?, ?, ?)", row.id, userId, role, org.createdAt);
    }
    delete org.members;
    c.run("UPDATE organizations SET data = ? WHERE id = ?", JSON.stringify(org), row.id);
  }
  const created = "json_extract(data, '$.createdAt'), rowid";
  for (const row of c.all<{ id: string; org_id: string; data: string }>(`SELECT id, org_id, data FROM campaigns ORDER BY org_id, ${created}`)) {
    const campaign = JSON.parse(row.data) as Legacy<Campaign>;
    c.run("UPDATE campaigns SET pos = (SELECT coalesce(max(pos), 0) + 1 FROM campaigns WHERE org_id = ?) WHERE id = ?", row.org_id, row.id);
    for (const s of (campaign.senders ?? []) as Sender[]) {
      c.run("INSERT OR IGNORE INTO senders (campaign_id, user_id, added_at, via) VALUES (?, ?, ?, ?)", row.id, s.userId, s.addedAt, s.via ?? "admin");
    }
    delete campaign.senders;
    // Campaigns stored before bulk-send state existed have none; one caught bulk sending keeps running.
    if (campaign.bulkSend === undefined) campaign.bulkSend = campaign.status === "bulk_sending" ? { finishedAt: null } : null;
    c.run("UPDATE campaigns SET data = ? WHERE id = ?", JSON.stringify(campaign), row.id);
  }
}

/** The steps, in order: step `n` takes a database from version `n - 1` to `n`. */
const STEPS: readonly ((c: Connection) => void)[] = [
  (c) => c.db.exec(V1),
  (c) => {
    c.db.exec(V2);
    rostersToRows(c);
  },
  // Facts say what kind of actor caused them (a user, a system actor, the host reporting).
  (c) => {
    c.db.exec("ALTER TABLE events ADD COLUMN actor_type TEXT");
    c.db.exec("UPDATE events SET actor_type = CASE WHEN actor_id IS NULL THEN 'host' ELSE 'user' END");
  },
];

/** What `migrate()` did: the version it found and the version the database has now. */
export interface SqliteMigrateResult {
  /** The version found (0: an empty database; 1: the first adapter's tables). */
  readonly from: number;
  /** The version now ({@link SCHEMA_VERSION}). */
  readonly to: number;
}

/**
 * Switch the file to WAL (once; the mode is stored in the file). Taking the lock for the switch does
 * not wait through SQLite's busy handler: when several connections open a new file at once, the ones
 * that lose retry until one switched it, within the busy timeout.
 */
function useWal(c: Connection): void {
  const deadline = Date.now() + c.busyTimeoutMs;
  for (;;) {
    try {
      if (c.one<{ journal_mode: string }>("PRAGMA journal_mode")?.journal_mode === "wal") return;
      c.db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (error) {
      if (!/^SQLITE_BUSY/.test(String((error as { code?: unknown }).code)) || Date.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.random() * 20);
    }
  }
}

/**
 * Bring the database to {@link SCHEMA_VERSION}: WAL mode (outside any transaction, as SQLite
 * requires), then, inside one `BEGIN IMMEDIATE` transaction, read the version and run the missing
 * steps. Refuses a database written by a newer adapter.
 */
export function migrate(c: Connection): SqliteMigrateResult {
  useWal(c);
  const version = () => c.one<{ user_version: number }>("PRAGMA user_version")!.user_version;
  // Up to date (what every start-up after the first finds): no need to queue for the write lock.
  if (version() === SCHEMA_VERSION) return { from: SCHEMA_VERSION, to: SCHEMA_VERSION };
  return c.stepSync(() => {
    let from = version();
    if (from === 0 && c.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'organizations'") !== undefined) from = 1;
    if (from > SCHEMA_VERSION) {
      throw new Error(`This SQLite database has schema version ${from}; this version of selfassign knows up to ${SCHEMA_VERSION}. Upgrade selfassign.`);
    }
    for (let v = from; v < SCHEMA_VERSION; v++) STEPS[v]!(c);
    if (from !== SCHEMA_VERSION) c.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    return { from, to: SCHEMA_VERSION };
  });
}

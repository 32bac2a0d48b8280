/**
 * SQLite only: migrating a database written by the first SQLite adapter, an invite rush over two
 * connections, a 10,000-member bulk add, concurrent migrations from several processes, waiting for a
 * busy file, and keyset pages. The shared suites (rules, conformance) run on SQLite too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { AssignmentError, createEngine, type Campaign, type Engine, type Member, type Sender } from "../src/index.js";
import { compareHandOut } from "../src/adapter.js";
import { createSqliteStorage } from "../src/sqlite.js";
import { manualClock } from "./helpers.js";
import { inspectSqlite, openSqlite, sqliteFile } from "./support/sqlite.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SQLITE_ENTRY = fileURLToPath(new URL("../src/sqlite.ts", import.meta.url));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A temporary database file, deleted after the test; connections opened on it are closed first. */
function tempFile(): string {
  const f = sqliteFile();
  cleanups.push(f.remove);
  return f.file;
}

function connect(file: string, options: { busyTimeoutMs?: number } = {}) {
  const c = openSqlite(file, options);
  cleanups.push(() => c.db.close());
  return c;
}

// ------------------------------------------------------------------ a database of the first adapter

/** The first SQLite adapter's schema (commit f42947f), written out by hand: rosters live in the JSON. */
const OLD_SCHEMA = [
  "CREATE TABLE organizations (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL)",
  "CREATE TABLE campaigns (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES organizations(id), version INTEGER NOT NULL, data TEXT NOT NULL)",
  "CREATE INDEX campaigns_org ON campaigns(org_id)",
  "CREATE TABLE invite_tokens (token TEXT PRIMARY KEY, campaign_id TEXT NOT NULL REFERENCES campaigns(id))",
  "CREATE TABLE conversations (campaign_id TEXT NOT NULL REFERENCES campaigns(id), seq INTEGER NOT NULL, contact_id TEXT NOT NULL, status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5), rank INTEGER NOT NULL CHECK (rank BETWEEN 0 AND 4), sort_key INTEGER NOT NULL, assignee TEXT, assigned_at INTEGER, reply_at INTEGER, contact_tz TEXT, lease_owner TEXT, lease_until INTEGER, PRIMARY KEY (campaign_id, seq), UNIQUE (campaign_id, contact_id)) WITHOUT ROWID",
  "CREATE INDEX conversations_pool ON conversations(campaign_id, rank, sort_key, seq) WHERE assignee IS NULL AND rank <= 2",
  "CREATE INDEX conversations_pending ON conversations(campaign_id, seq) WHERE status = 0",
  "CREATE INDEX conversations_holder ON conversations(campaign_id, assignee) WHERE assignee IS NOT NULL",
  "CREATE TABLE opt_outs (org_id TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (org_id, contact_id)) WITHOUT ROWID",
  "CREATE TABLE claim_keys (campaign_id TEXT NOT NULL, texter_id TEXT NOT NULL, key TEXT NOT NULL, conversations TEXT NOT NULL, PRIMARY KEY (campaign_id, texter_id, key)) WITHOUT ROWID",
  "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, at INTEGER NOT NULL, org_id TEXT NOT NULL, campaign_id TEXT, actor_id TEXT, data TEXT NOT NULL)",
];

const T0 = Date.UTC(2026, 9, 1, 14, 0, 0);
/** Old status codes → the old adapter's rank column (needs reply 0, not started 1, sent/replied 2, closed 3, opted out 4). */
const OLD_RANK = [1, 2, 0, 2, 3, 4];

/** What the old database holds, to compare with after the migration. */
interface OldData {
  orgId: string;
  members: Record<string, string>;
  campaign: Record<string, unknown> & { id: string; senders: Sender[] };
  bulkCampaign: Record<string, unknown> & { id: string };
  conversations: { id: string; contactId: string; holder: string | null; status: string }[];
}

/** Write a database exactly as the first adapter left it: 301 members and 120 senders inside the JSON. */
function writeOldDatabase(file: string): OldData {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  for (const statement of OLD_SCHEMA) db.exec(statement);
  const orgId = "org-old";
  // Insertion order is not alphabetical: the order the old engine saw is the JSON's.
  const members: Record<string, string> = { ann: "owner" };
  for (let i = 0; i < 300; i++) members[`v${String((i * 37) % 300).padStart(3, "0")}`] = i % 50 === 0 ? "admin" : "texter";
  const org = { id: orgId, name: "Old Org", members, defaultBatchSize: 300, createdAt: T0, version: 7 };
  db.prepare("INSERT INTO organizations (id, version, data) VALUES (?, ?, ?)").run(orgId, org.version, JSON.stringify(org));
  const users = Object.keys(members).filter((u) => u !== "ann");
  const senders: Sender[] = users.slice(0, 120).reverse().map((userId, i) => ({ userId, addedAt: T0 + i * 1000, via: i % 3 === 0 ? "invite" : "admin" }));
  const base = {
    orgId,
    createdAt: T0,
    launchedAt: T0 + 60_000,
    selfAssignment: { enabled: true, batchSize: 3, gate: "none", maxHeldPerTexter: null, allowSelfRelease: false, releaseNotStartedAfterMs: null, releaseNeedsReplyAfterMs: null },
    schedule: { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null },
  };
  const campaign = { ...base, id: "cmp-old", title: "Old GOTV", status: "active", invite: { enabled: true, token: "tok-old", revokedTokens: ["tok-revoked"] }, senders, version: 12 };
  const bulkCampaign = { ...base, id: "cmp-bulk", title: "Old bulk", status: "bulk_sending", invite: { enabled: false, token: null, revokedTokens: [] }, senders: [], version: 3 };
  for (const c of [campaign, bulkCampaign]) db.prepare("INSERT INTO campaigns (id, org_id, version, data) VALUES (?, ?, ?, ?)").run(c.id, orgId, c.version, JSON.stringify(c));
  for (const t of ["tok-old", "tok-revoked"]) db.prepare("INSERT INTO invite_tokens (token, campaign_id) VALUES (?, ?)").run(t, campaign.id);
  const insert = db.prepare(
    "INSERT INTO conversations (campaign_id, seq, contact_id, status, rank, sort_key, assignee, assigned_at, reply_at, contact_tz) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const statuses = ["not_started", "initial_sent", "needs_reply", "replied", "closed", "opted_out"];
  const conversations: OldData["conversations"] = [];
  for (let seq = 0; seq < 90; seq++) {
    const status = seq < 30 ? 0 : seq % 6;
    const holder = seq % 4 === 0 && seq < 60 ? senders[seq % senders.length]!.userId : null;
    const replyAt = status === 2 ? T0 + 100_000 - seq : null;
    insert.run(campaign.id, seq, `c${seq}`, status, OLD_RANK[status], replyAt ?? seq, holder, holder === null ? null : T0, replyAt, null);
    conversations.push({ id: `${campaign.id}:${seq}`, contactId: `c${seq}`, holder, status: statuses[status]! });
  }
  insert.run(bulkCampaign.id, 0, "b0", 0, 1, 0, null, null, null, null);
  db.prepare("INSERT INTO opt_outs (org_id, contact_id) VALUES (?, ?)").run(orgId, "c5");
  db.prepare("INSERT INTO events (type, at, org_id, campaign_id, actor_id, data) VALUES (?, ?, ?, ?, ?, ?)").run("campaign.created", T0, orgId, campaign.id, "ann", JSON.stringify({ title: "Old GOTV" }));
  db.close();
  return { orgId, members, campaign, bulkCampaign, conversations };
}

async function allPages<T>(read: (cursor: string | null) => Promise<{ items: readonly T[]; cursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await read(cursor);
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== null);
  return out;
}

describe("SQLite: migrating a database written by the first adapter (user_version 0 with its tables = version 1)", () => {
  it("O1, C3, I2: every member, sender (in order) and conversation survives; rosters leave the JSON; bulkSend loads", async () => {
    const file = tempFile();
    const old = writeOldDatabase(file);
    const db = new Database(file);
    cleanups.push(() => db.close());
    const storage = createSqliteStorage({ database: db });
    expect(storage.migrate()).toEqual({ from: 1, to: 3 });
    expect(db.pragma("user_version", { simple: true })).toBe(3);
    expect(storage.migrate()).toEqual({ from: 3, to: 3 });
    const clock = manualClock(Date.UTC(2026, 10, 3, 15, 0, 0));
    const engine = createEngine({ storage, clock: clock.now });

    const members = await allPages((cursor) => engine.listMembers({ actorId: "ann", orgId: old.orgId, cursor, limit: 47 }));
    expect(members.map((m) => [m.userId, m.role])).toEqual(Object.entries(old.members));
    expect(new Set(members.map((m) => m.addedAt))).toEqual(new Set([T0]));
    const senders = await allPages((cursor) => engine.listSenders({ actorId: "ann", campaignId: old.campaign.id, cursor, limit: 50 }));
    expect(senders).toEqual(old.campaign.senders);

    const { senders: _s, ...campaignRest } = old.campaign;
    expect(await engine.getCampaign(old.campaign.id)).toEqual({ ...campaignRest, bulkSend: null });
    expect((await engine.getCampaign(old.bulkCampaign.id)).bulkSend).toEqual({ finishedAt: null });
    const org = await engine.getOrganization(old.orgId);
    expect(org).toEqual({ id: old.orgId, name: "Old Org", defaultBatchSize: 300, createdAt: T0, version: 7 });
    const stored = db.prepare("SELECT data FROM campaigns UNION ALL SELECT data FROM organizations").all() as { data: string }[];
    expect(stored.filter((r) => "senders" in JSON.parse(r.data) || "members" in JSON.parse(r.data))).toEqual([]);

    const reader = new Database(file, { readonly: true });
    cleanups.push(() => reader.close());
    expect(await inspectSqlite(reader)(old.campaign.id)).toEqual(old.conversations);
    const listed = await allPages((cursor) => engine.listConversations({ actorId: "ann", campaignId: old.campaign.id, cursor, limit: 13 }));
    expect(listed.map((c) => c.id).sort()).toEqual(old.conversations.map((c) => c.id).sort());
    expect((await engine.readEvents({ campaignId: old.campaign.id })).map((e) => e.type)).toEqual(["campaign.created"]);

    // The migrated rows work: the old invite token, a request by a migrated sender, a revoked token, the opt-out.
    const joiner = Object.keys(old.members).find((u) => u !== "ann" && !old.campaign.senders.some((s) => s.userId === u))!;
    const joined = await engine.joinByInvite({ token: "tok-old", userId: joiner });
    expect(joined).toMatchObject({ ok: true, alreadySender: false, firstBatch: "assigned" });
    expect(await engine.joinByInvite({ token: "tok-revoked", userId: joiner })).toEqual({ ok: false, reason: "token_revoked" });
    const sender = old.campaign.senders[1]!.userId;
    const request = await engine.requestConversations({ campaignId: old.campaign.id, texterId: sender });
    expect(request.ok).toBe(true);
    const imported = await engine.importContacts({ actorId: "ann", campaignId: old.campaign.id, contacts: [{ contactId: "c5" }, { contactId: "new" }], returnIds: true });
    expect(imported.created).toBe(1);
    expect((await engine.findConversation({ campaignId: old.campaign.id, contactId: "new" }))?.status).toBe("not_started");
    await expect(engine.removeMember({ actorId: "ann", orgId: old.orgId, userId: sender })).rejects.toMatchObject({ code: "INVALID_STATE" });
    // Campaigns keep their creation order, and a new one comes after them.
    const fresh = await engine.createCampaign({ actorId: "ann", orgId: old.orgId, title: "New" });
    const campaigns = await allPages((cursor) => engine.listCampaigns({ actorId: "ann", orgId: old.orgId, cursor, limit: 1 }));
    expect(campaigns.map((c) => c.id)).toEqual([old.campaign.id, old.bulkCampaign.id, fresh.id]);
  });

  it("a database written by a newer adapter is refused, not damaged", () => {
    const file = tempFile();
    const db = new Database(file);
    cleanups.push(() => db.close());
    db.pragma("user_version = 99");
    expect(() => createSqliteStorage({ database: db }).migrate()).toThrow(/schema version 99/);
    expect(db.pragma("user_version", { simple: true })).toBe(99);
  });
});

// ------------------------------------------------------------------ several processes

/** Run `code` (an ES module, TypeScript allowed) in a child Node process; it gets `FILE` and `ENTRY` in its environment. */
function child(code: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
}

/** The next line a child prints. */
function nextLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const cut = buffer.indexOf("\n");
      if (cut >= 0) {
        p.stdout!.off("data", onData);
        resolve(buffer.slice(0, cut));
      }
    };
    p.stdout!.on("data", onData);
    p.once("exit", (code) => reject(new Error(`child exited with ${code} before printing`)));
  });
}

const MIGRATE_CHILD = `
import Database from "better-sqlite3";
const { createSqliteStorage } = await import(process.env.ENTRY);
const db = new Database(process.env.FILE);
const storage = createSqliteStorage({ database: db });
console.log("ready");
process.stdin.once("data", () => {
  console.log(JSON.stringify(storage.migrate()));
  db.close();
  process.exit(0);
});
`;

/** Start `n` processes on `file`, let them all call migrate() at the same moment, and return what each found. */
async function migrateAtOnce(file: string, n: number): Promise<{ from: number; to: number }[]> {
  const children = Array.from({ length: n }, () => child(MIGRATE_CHILD, { FILE: file, ENTRY: SQLITE_ENTRY }));
  expect(await Promise.all(children.map(nextLine))).toEqual(children.map(() => "ready"));
  const results = children.map(nextLine);
  for (const c of children) c.stdin!.write("go\n");
  return (await Promise.all(results)).map((line) => JSON.parse(line) as { from: number; to: number });
}

describe("SQLite: several connections and processes on one file", () => {
  it("migrate() from four processes at once on an empty file: one creates the schema, the others find it", async () => {
    const file = tempFile();
    const results = await migrateAtOnce(file, 4);
    expect(results.map((r) => r.from).sort()).toEqual([0, 3, 3, 3]);
    const { storage } = connect(file);
    expect(storage.migrate()).toEqual({ from: 3, to: 3 });
  }, 60_000);

  it("O1, C3: migrate() from four processes at once on an old database moves each roster once", async () => {
    const file = tempFile();
    const old = writeOldDatabase(file);
    const results = await migrateAtOnce(file, 4);
    expect(results.map((r) => r.from).sort()).toEqual([1, 3, 3, 3]);
    const { db } = connect(file);
    expect(db.prepare("SELECT user_id FROM members WHERE org_id = ? ORDER BY pos").all(old.orgId).map((r) => (r as { user_id: string }).user_id)).toEqual(Object.keys(old.members));
    expect(db.prepare("SELECT user_id FROM senders WHERE campaign_id = ? ORDER BY pos").all(old.campaign.id).map((r) => (r as { user_id: string }).user_id)).toEqual(
      old.campaign.senders.map((s) => s.userId),
    );
  }, 60_000);

  it("L3, I1, I7: invite rush — 200 members join at once over two connections: 0 errors, 200 distinct first batches, no conversation twice", async () => {
    const file = tempFile();
    const clock = manualClock();
    const engines: Engine[] = [connect(file), connect(file)].map(({ storage }) => createEngine({ storage, clock: clock.now }));
    const admin = engines[0]!;
    const org = await admin.createOrganization({ name: "Rush", ownerId: "owner" });
    const users = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await admin.addMembers({ actorId: "owner", orgId: org.id, members: users.map((userId) => ({ userId, role: "texter" as const })) });
    const campaign = await admin.createCampaign({ actorId: "owner", orgId: org.id, title: "Kickoff" });
    await admin.importContacts({ actorId: "owner", campaignId: campaign.id, contacts: Array.from({ length: 1100 }, (_, i) => ({ contactId: `c${i}` })) });
    await admin.updateCampaignSettings({ actorId: "owner", campaignId: campaign.id, enabled: true, batchSize: 5 });
    await admin.launchCampaign({ actorId: "owner", campaignId: campaign.id });
    const { token } = await admin.enableInviteLink({ actorId: "owner", campaignId: campaign.id });

    const started = performance.now();
    const settled = await Promise.allSettled(users.map((userId, i) => engines[i % 2]!.joinByInvite({ token, userId })));
    const ms = performance.now() - started;
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    const joins = settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<Engine["joinByInvite"]>>>).value);
    const batches = joins.map((j) => (j.ok ? j.conversations.map((c) => c.id) : []));
    expect(joins.filter((j) => !j.ok || j.firstBatch !== "assigned")).toEqual([]);
    expect(batches.every((b) => b.length === 5)).toBe(true);
    const all = batches.flat();
    expect(new Set(all).size).toBe(1000);
    // What the file holds, read independently: each conversation's holder is the member whose batch had it.
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => reader.close());
    const holder = new Map((await inspectSqlite(reader)(campaign.id)).map((c) => [c.id, c.holder]));
    batches.forEach((b, i) => b.forEach((id) => expect(holder.get(id)).toBe(users[i])));
    expect([...holder.values()].filter((h) => h !== null)).toHaveLength(1000);
    expect((reader.prepare("SELECT count(*) AS n FROM senders WHERE campaign_id = ?").get(campaign.id) as { n: number }).n).toBe(200);
    expect(await engines[1]!.readEvents({ campaignId: campaign.id, types: ["sender.joined"], limit: 1000 })).toHaveLength(200);
    console.log(`SQLite invite rush: 200 joins over two connections in ${ms.toFixed(0)} ms`);
  }, 60_000);

  /** A process that takes the file's write lock, says so, holds it for `holdMs`, and commits. */
  async function holdWriteLock(file: string, holdMs: number): Promise<ChildProcess> {
    const p = child(
      `import Database from "better-sqlite3";
       const db = new Database(process.env.FILE);
       db.exec("BEGIN IMMEDIATE");
       console.log("locked");
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs});
       db.exec("COMMIT");
       db.close();`,
      { FILE: file },
    );
    expect(await nextLine(p)).toBe("locked");
    return p;
  }

  it("wait, don't fail: a write that finds another process writing waits for it (busy timeout) and succeeds", async () => {
    const file = tempFile();
    const { storage } = connect(file);
    const engine = createEngine({ storage, clock: manualClock().now });
    const org = await engine.createOrganization({ name: "Busy", ownerId: "owner" });
    const locker = await holdWriteLock(file, 600);
    const started = performance.now();
    const member: Member = await engine.addMember({ actorId: "owner", orgId: org.id, userId: "late", role: "texter" });
    expect(performance.now() - started).toBeGreaterThan(300);
    expect(member.userId).toBe("late");
    await new Promise((resolve) => locker.once("exit", resolve));
  }, 30_000);

  it("I8: past its busy timeout a write fails with STORAGE_ERROR and changes nothing", async () => {
    const file = tempFile();
    const { storage } = connect(file, { busyTimeoutMs: 50 });
    const engine = createEngine({ storage, clock: manualClock().now });
    const org = await engine.createOrganization({ name: "Busy", ownerId: "owner" });
    const locker = await holdWriteLock(file, 1500);
    const error = await engine.addMember({ actorId: "owner", orgId: org.id, userId: "late", role: "texter" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssignmentError);
    expect(error).toMatchObject({ code: "STORAGE_ERROR", details: { outcome: "not_applied" } });
    await new Promise((resolve) => locker.once("exit", resolve));
    expect(await engine.getMember({ actorId: "owner", orgId: org.id, userId: "late" })).toBeNull();
  }, 30_000);
});

// ------------------------------------------------------------------ rows and pages

describe("SQLite: rosters are rows, pages are keyset", () => {
  it("O1: addMembers of 10,000 in one call is one fast step; a repeat adds nothing; pages keep the order", async () => {
    const file = tempFile();
    const { db, storage } = connect(file);
    const engine = createEngine({ storage, clock: manualClock().now });
    const org = await engine.createOrganization({ name: "Big", ownerId: "owner" });
    const members = Array.from({ length: 10_000 }, (_, i) => ({ userId: `user-${(i * 7919) % 10_000}`, role: "texter" as const }));
    const started = performance.now();
    const added = await engine.addMembers({ actorId: "owner", orgId: org.id, members });
    const ms = performance.now() - started;
    console.log(`SQLite addMembers of 10,000: ${ms.toFixed(0)} ms`);
    expect(added.added).toHaveLength(10_000);
    expect(ms).toBeLessThan(2000);
    expect((await engine.addMembers({ actorId: "owner", orgId: org.id, members: members.slice(0, 100) })).existing).toHaveLength(100);
    const listed = await allPages((cursor) => engine.listMembers({ actorId: "owner", orgId: org.id, cursor, limit: 1000 }));
    expect(listed.map((m) => m.userId)).toEqual(["owner", ...members.map((m) => m.userId)]);
    expect(await engine.readEvents({ orgId: org.id, types: ["organization.member_added"], limit: 20_000 })).toHaveLength(10_001);
    // The organization aggregate stays small: no roster inside it.
    expect((db.prepare("SELECT length(data) AS n FROM organizations WHERE id = ?").get(org.id) as { n: number }).n).toBeLessThan(200);
  }, 60_000);

  it("S4, S6: listing pages follow hand-out order across reply times, holders and statuses; a foreign cursor ends the listing", async () => {
    const file = tempFile();
    const { storage } = connect(file);
    const clock = manualClock();
    const engine = createEngine({ storage, clock: clock.now });
    const org = await engine.createOrganization({ name: "Pages", ownerId: "owner" });
    await engine.addMembers({ actorId: "owner", orgId: org.id, members: [{ userId: "t1", role: "texter" }, { userId: "t2", role: "texter" }] });
    const campaign: Campaign = await engine.createCampaign({ actorId: "owner", orgId: org.id, title: "P" });
    await engine.importContacts({ actorId: "owner", campaignId: campaign.id, contacts: Array.from({ length: 40 }, (_, i) => ({ contactId: `c${i}` })) });
    await engine.addSenders({ actorId: "owner", campaignId: campaign.id, userIds: ["t1", "t2"] });
    await engine.launchCampaign({ actorId: "owner", campaignId: campaign.id });
    await engine.unassignAll({ actorId: "owner", campaignId: campaign.id });
    await engine.reassignSome({ actorId: "owner", campaignId: campaign.id, from: "unassigned", filter: "any", count: 16, to: ["t1", "t2"] });
    // Replies arrive in reverse import order, so reply time and import order disagree (S4: oldest reply first).
    for (let i = 39; i >= 0; i -= 3) {
      const id = `${campaign.id}:${i}`;
      await engine.recordInitialSent({ conversationId: id });
      if (i % 2 === 1) {
        clock.advance(1000);
        await engine.recordContactReply({ conversationId: id });
      }
    }
    await engine.closeConversation({ conversationId: `${campaign.id}:1` });
    await engine.optOut({ orgId: org.id, contactId: "c2" });
    const everything = (await engine.listConversations({ actorId: "owner", campaignId: campaign.id, limit: 1000 })).items;
    expect(everything).toHaveLength(40);
    for (const filter of [{}, { assigneeId: null }, { assigneeId: "t1" }, { status: "needs_reply" as const }, { assigneeId: "t2", status: "initial_sent" as const }]) {
      const paged = await allPages((cursor) => engine.listConversations({ actorId: "owner", campaignId: campaign.id, ...filter, cursor, limit: 3 }));
      const expected = everything.filter(
        (c) => ("assigneeId" in filter ? c.assigneeId === filter.assigneeId : true) && ("status" in filter ? c.status === filter.status : true),
      );
      expect(paged).toEqual(expected);
    }
    expect(everything).toEqual([...everything].sort(compareHandOut));
    expect(new Set(everything.map((c) => c.status)).size).toBe(5); // every listing rank is present
    await expect(engine.listConversations({ actorId: "owner", campaignId: campaign.id, cursor: "not-a-cursor" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    const assignments = await allPages((cursor) => engine.listAssignments({ actorId: "t1", campaignId: campaign.id, texterId: "t1", filter: "actionable", cursor, limit: 2 }));
    expect(assignments).toEqual(everything.filter((c) => c.assigneeId === "t1" && (c.status === "needs_reply" || c.status === "not_started")));
  });
});

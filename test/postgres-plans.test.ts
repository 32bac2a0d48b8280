/**
 * PostgreSQL plans that do not depend on per-campaign statistics (issue 12). A campaign imported after
 * the last ANALYZE, beside a big analyzed one, looks like one row to the planner; a statement whose plan
 * follows that estimate (a join that walks the campaign once per row, a sort of the whole campaign)
 * was 124x slower there than after ANALYZE. Each hot operation runs on such a fresh campaign; every
 * statement it issues on `conversations` is then run again under EXPLAIN ANALYZE (rolled back) and the
 * rows it read from the table are counted: they must stay within what the operation hands out, lists
 * or moves — never the campaign's size.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PoolClient } from "pg";
import { createEngine, type Engine } from "../src/index.js";
import { createPostgresStorage, type PgClientLike, type PgPoolLike } from "../src/postgres.js";
import { handOutQuery } from "../src/postgres/sql/claim.js";
import { moveQuery } from "../src/postgres/sql/conversation-writes.js";
import { uniqueId } from "./helpers.js";
import { postgresFixture } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;
type Statement = { text: string; values: readonly unknown[] };

/** A pool that records every statement run through it (on the pool or on checked-out clients). */
/** `roundTrips`: queries sent on checked-out clients (transactions) since the last `take`. */
function recording(pool: PgPoolLike): { pool: PgPoolLike; take: () => Statement[]; roundTrips: () => number } {
  let log: Statement[] = [];
  let trips = 0;
  // Statements sent together without parameters (BEGIN with the lock and the claim state, facts
  // with COMMIT: `batch.ts`) are joined by ";\n": recorded one by one, so each is explained.
  const record = (text: string, values?: readonly unknown[]) =>
    values !== undefined && values.length > 0 ? log.push({ text, values }) : log.push(...text.split(";\n").map((part) => ({ text: part, values: [] })));
  const wrapped: PgPoolLike = {
    async connect() {
      const client = await pool.connect();
      const proxy: PgClientLike = {
        query: (text, values) => (trips++, record(text, values), client.query(text, values)),
        release: (destroy) => client.release(destroy),
        ...(client.on === undefined ? {} : { on: (e, l) => client.on!(e, l) }),
        ...(client.removeListener === undefined ? {} : { removeListener: (e, l) => client.removeListener!(e, l) }),
      };
      return proxy;
    },
    query: (text, values) => (record(text, values), pool.query(text, values)),
    on: (e, l) => pool.on?.(e, l),
  };
  return {
    pool: wrapped,
    take() {
      const taken = log;
      log = [];
      trips = 0;
      return taken;
    },
    roundTrips: () => trips,
  };
}

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Filter?: string;
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
}

/** The plan in one line: node types, indexes, conditions and rows read. */
function describe_(node: PlanNode): string {
  const own = `${node["Node Type"]}${node["Index Name"] ? ` ${node["Index Name"]}` : ""}${node["Index Cond"] ? ` [${node["Index Cond"]}]` : ""}${node.Filter ? ` {${node.Filter}}` : ""} ×${(node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0)}/${node["Actual Loops"] ?? 1}`;
  return node.Plans === undefined ? own : `${own} (${node.Plans.map(describe_).join("; ")})`;
}

/** Rows a plan read from `tables` (returned or filtered out, every loop), from EXPLAIN ANALYZE. */
function rowsRead(node: PlanNode, tables: readonly string[] = ["conversations"]): number {
  const own =
    node["Relation Name"] !== undefined && tables.includes(node["Relation Name"])
      ? ((node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0) + (node["Rows Removed by Index Recheck"] ?? 0)) * (node["Actual Loops"] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + rowsRead(p, tables), 0);
}

describe("PostgreSQL plans on a fresh, unanalyzed campaign beside a big analyzed one", () => {
  let f: Fixture;
  let probe: PoolClient;
  let rec: ReturnType<typeof recording>;
  let engine: Engine;
  let storage: ReturnType<typeof createPostgresStorage>;
  let orgId: string;
  const texters = Array.from({ length: 8 }, (_, i) => `p${i}`);
  const now = Date.UTC(2026, 10, 3, 16, 0); // 10:00 in Chicago, 00:00 in Singapore
  const FRESH = 8_000;

  /** Rows of `tables` each recorded statement reads, re-run under EXPLAIN ANALYZE and rolled back. */
  async function reads(statements: Statement[], tables: readonly string[] = ["conversations"]): Promise<{ total: number; each: { sql: string; rows: number; plan: string }[] }> {
    const each: { sql: string; rows: number; plan: string }[] = [];
    for (const s of statements) {
      // A one-round-trip claim is a prepared statement (`prepared.ts`): the DO block that prepares it
      // runs here too, and its EXECUTE is explained with the generic plan the claim runs.
      if (/^\s*DO /.test(s.text)) await probe.query(s.text);
      const execute = /^\s*EXECUTE /.test(s.text);
      if (!execute && (!tables.some((t) => s.text.includes(`.${t}`)) || /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|DO|SET)/i.test(s.text))) continue;
      await probe.query("BEGIN");
      if (execute) await probe.query("SET LOCAL plan_cache_mode = force_generic_plan");
      try {
        const { rows } = await probe.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.text}`, [...s.values]);
        const plan = rows[0]!["QUERY PLAN"][0].Plan;
        each.push({ sql: s.text.replace(/\s+/g, " ").slice(0, 100), rows: rowsRead(plan, tables), plan: describe_(plan) });
      } finally {
        await probe.query("ROLLBACK");
      }
    }
    return { total: each.reduce((n, e) => n + e.rows, 0), each };
  }

  /** Run `op`, then check that its statements read at most `budget` rows of `tables`. */
  async function within<T>(budget: number, op: () => Promise<T>, tables: readonly string[] = ["conversations"]): Promise<T> {
    rec.take();
    const result = await op();
    const r = await reads(rec.take(), tables);
    expect(r.each.length, `the operation issued statements on ${tables.join(", ")}`).toBeGreaterThan(0);
    expect(r.total, JSON.stringify(r.each, null, 1)).toBeLessThanOrEqual(budget);
    return result;
  }

  /** A fresh campaign (imported after ANALYZE), launched, then the texters added as senders; batch 100. */
  async function freshCampaign(options: { zones?: boolean; gate?: "none" | "no-pending-initials"; bulkSend?: boolean } = {}) {
    const c = await engine.createCampaign({ actorId: "admin", orgId, title: "fresh" });
    await engine.importContacts({
      actorId: "admin",
      campaignId: c.id,
      contacts: Array.from({ length: FRESH }, (_, i) => ({ contactId: `f${i}`, ...(options.zones ? { timeZone: i % 2 === 0 ? "Asia/Singapore" : "America/Chicago" } : {}) })),
    });
    await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 100, gate: options.gate ?? "none", timeZone: "America/Chicago" });
    await engine.launchCampaign({ actorId: "admin", campaignId: c.id, bulkSend: options.bulkSend === true });
    await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters }); // after launch: nothing split (C5)
    return c.id;
  }

  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 8 });
    probe = await (f.pool as unknown as { connect(): Promise<PoolClient> }).connect();
    // Keep autovacuum from analyzing the fresh campaigns while the test runs.
    await f.pool.query(`ALTER TABLE "${f.schema}".conversations SET (autovacuum_enabled = false)`);
    rec = recording(f.pool);
    storage = createPostgresStorage({ pool: rec.pool, schema: f.schema, maxConcurrentClaims: 1 });
    engine = createEngine({ storage, clock: () => now, generateId: (k) => uniqueId(k) });
    orgId = (await engine.createOrganization({ name: "Plans", ownerId: "admin" })).id;
    await engine.addMembers({ actorId: "admin", orgId, members: [...texters, "joiner"].map((userId) => ({ userId, role: "texter" as const })) });
    const big = await engine.createCampaign({ actorId: "admin", orgId, title: "big" });
    await engine.importContacts({ actorId: "admin", campaignId: big.id, contacts: Array.from({ length: 40_000 }, (_, i) => ({ contactId: `b${i}` })) });
    await f.pool.query(`ANALYZE "${f.schema}".conversations`);
  }, 120_000);

  afterAll(async () => {
    probe?.release();
    await f?.close();
  });

  // An UPDATE of n rows reads about 3n: the range it locks, a TID scan per row, the rows it writes; a
  // hand-out one more: the first unassigned row, where the pool floor moves (`raiseFloorCtes`).
  it("S3: single, repeated and gated claims read only the rows they hand out", async () => {
    const campaignId = await freshCampaign();
    for (const texterId of ["p0", "p0", "p1"]) {
      const r = await within(300 + 1, () => engine.requestConversations({ campaignId, texterId }));
      expect(r.ok && r.conversations.length).toBe(100);
    }
    const gated = await freshCampaign({ gate: "no-pending-initials" });
    // The gate counts what the texter holds: one range of the holder index (100 rows here).
    await within(300 + 1 + 100, () => engine.requestConversations({ campaignId: gated, texterId: "p2" }));
    expect(await within(300 + 100, () => engine.requestConversations({ campaignId: gated, texterId: "p2" }))).toEqual({ ok: false, reason: "batch_unfinished" });
  });

  it("S3: grouped claims read only the rows they deal out", async () => {
    const campaignId = await freshCampaign();
    const results = await within(5 * (300 + 1), () => Promise.all(texters.slice(0, 5).map((texterId) => engine.requestConversations({ campaignId, texterId }))));
    expect(results.every((r) => r.ok && r.conversations.length === 100)).toBe(true);
  });

  it("T2, S3: zoned claims read the open zones' ranges, never the closed zone's rows", async () => {
    const campaignId = await freshCampaign({ zones: true });
    const r = await within(400 + 1, () => engine.requestConversations({ campaignId, texterId: "p0" }));
    expect(r.ok && r.conversations.length === 100 && r.conversations.every((c) => c.contactTimeZone === "America/Chicago")).toBe(true);
    // A repeated request: the prepared one-round-trip claim, explained with its generic plan.
    const again = await within(400 + 1, () => engine.requestConversations({ campaignId, texterId: "p7" }));
    expect(again.ok && again.conversations.length === 100 && again.conversations.every((c) => c.contactTimeZone === "America/Chicago")).toBe(true);
    const group = await within(5 * (400 + 1), () => Promise.all(texters.slice(1, 6).map((texterId) => engine.requestConversations({ campaignId, texterId }))));
    expect(group.every((g) => g.ok && g.conversations.length === 100)).toBe(true);
  });

  it("S3, T2: with half the pool outside its contacts' hours, concurrent requesters each get a full batch", async () => {
    // Rows are locked as the per-zone ranges are read, so concurrent claims skip each other's rows
    // instead of picking the same candidates and coming back short.
    const campaignId = await freshCampaign({ zones: true });
    const concurrent = createEngine({ storage: createPostgresStorage({ pool: f.pool, schema: f.schema, maxConcurrentClaims: 4, maxClaimGroup: 1 }), clock: () => now });
    for (let round = 0; round < 3; round++) {
      const batches = await Promise.all(texters.map((texterId) => concurrent.requestConversations({ campaignId, texterId })));
      for (const b of batches) expect(b.ok && b.conversations.length === 100 && b.conversations.every((c) => c.contactTimeZone === "America/Chicago")).toBe(true);
    }
  });

  it("L3: an invite join reads only its first batch", async () => {
    const campaignId = await freshCampaign();
    const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId });
    // Re-run after the join, the "holding none" probe counts the 100 it now holds.
    const joined = await within(300 + 1 + 100, () => engine.joinByInvite({ token, userId: "joiner" }));
    expect(joined.ok && joined.conversations.length).toBe(100);
  });

  it("M1, S9, T4: releases, status changes and stale releases read only the rows they change", async () => {
    const campaignId = await freshCampaign();
    const r = await engine.requestConversations({ campaignId, texterId: "p0" });
    if (!r.ok) throw new Error("no batch");
    const ids = r.conversations.map((c) => c.id);
    await within(10, () => engine.recordInitialSent({ conversationId: ids[0]! }));
    await within(10, () => engine.recordContactReply({ conversationId: ids[0]! }));
    await within(250, () => engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: ids.slice(1) }));
    await engine.requestConversations({ campaignId, texterId: "p1" });
    // Stale release reads what is held (the holder index), not the campaign.
    await within(3 * 200, () => storage.releaseStale!({ campaignId, notStartedBefore: now + 1, needsReplyBefore: null, now, context: { at: now, orgId, campaignId, actorId: null, actorType: "host" } }));
  });

  it("A3, A2: moves read only the rows they move (moveQuery: by ctid, never a join over the campaign)", async () => {
    const campaignId = await freshCampaign();
    await engine.requestConversations({ campaignId, texterId: "p0" });
    const moves = [
      { from: { kind: "unassigned" }, statuses: "open", limit: 200, to: ["p1", "p2"], reason: "reassign" },
      { from: { kind: "holders", holderIds: ["p0"] }, statuses: "open", limit: null, to: ["p3"], reason: "reassign" },
      { from: { kind: "all_holders" }, statuses: "all", limit: null, to: null, reason: "unassign_all" },
      // Thousands of rows: a hash join on ctid would read the whole table (every campaign) to build its side.
      { from: { kind: "unassigned" }, statuses: "open", limit: FRESH, to: ["p1", "p2", "p3"], reason: "reassign" },
    ] as const;
    for (const move of moves) {
      const q = moveQuery(`"${f.schema}"`, campaignId, move as never, move.to ?? [], now);
      const r = await reads([q]);
      expect(r.total, JSON.stringify(r.each)).toBeLessThanOrEqual(3 * (move.limit ?? 100) + 10);
    }
  });

  it("S3, A2, T4, C6: statements that write thousands of rows at once read only those rows (a TID scan, never a hash join over the table)", async () => {
    const campaignId = await freshCampaign();
    const schema = `"${f.schema}"`;
    // A batch of 5,000 and a group of claims dealing 5,000 (each run under EXPLAIN ANALYZE and rolled back).
    for (const to of [{ texter: "p0" }, { ranges: [{ texter: "p1", first: 1, last: 2500 }, { texter: "p2", first: 2501, last: 5000 }] }]) {
      const r = await reads([handOutQuery(schema, { campaignId, limit: 5000, ranks: [0, 1, 2], openZones: null, to, now })]);
      expect(r.total, JSON.stringify(r.each)).toBeLessThanOrEqual(3 * 5000 + 10);
    }
    // 6,000 held for real, then released as stale.
    const q = moveQuery(schema, campaignId, { from: { kind: "unassigned" }, statuses: "open", limit: 6000, to: ["p0", "p1", "p2"], reason: "reassign" }, ["p0", "p1", "p2"], now);
    await f.pool.query(q.text, q.values);
    const released = await within(3 * 6000 + 10, () =>
      storage.releaseStale!({ campaignId, notStartedBefore: now + 1, needsReplyBefore: null, now, context: { at: now, orgId, campaignId, actorId: null, actorType: "host" } }),
    );
    expect(released).toHaveLength(6000);
    const bulk = await freshCampaign({ bulkSend: true });
    const leased = await within(4 * 5000 + 10, () => engine.leaseInitialSends({ campaignId: bulk, workerId: "w", limit: 5000 }));
    expect(leased).toHaveLength(5000);
  });

  it("A1, S6: listings read one page from their index range; the overview reads count rows, not the campaign", async () => {
    const campaignId = await freshCampaign();
    for (const texterId of ["p0", "p1", "p2"]) await engine.requestConversations({ campaignId, texterId });
    const first = await within(2 * 101, () => engine.listConversations({ actorId: "admin", campaignId, assigneeId: null, limit: 100 }));
    expect(first.items).toHaveLength(100);
    await within(2 * 101, () => engine.listConversations({ actorId: "admin", campaignId, assigneeId: null, limit: 100, cursor: first.cursor }));
    await within(2 * 101, () => engine.listConversations({ actorId: "admin", campaignId, assigneeId: null, status: "not_started", limit: 100 }));
    await within(2 * 51, () => engine.listConversations({ actorId: "admin", campaignId, assigneeId: "p1", limit: 50 }));
    await within(2 * 51, () => engine.listAssignments({ actorId: "p1", campaignId, texterId: "p1", limit: 50 }));
    // Any holder: the unassigned range and the held rows (300 here), never the whole campaign.
    await within(101 + 300 + 10, () => engine.listConversations({ actorId: "admin", campaignId, limit: 100 }));
    await within(5, () => engine.findConversation({ campaignId, contactId: "f77" }));
    // Count rows of other campaigns, analyzed: on a table of a few pages a sequential scan is the
    // cheapest plan (it read every campaign's rows when autoanalyze happened to run first).
    await f.pool.query(`INSERT INTO "${f.schema}".conversation_counts (campaign_id, assignee, status, n) SELECT 'other-' || (i % 500), NULL, 0, 1 FROM generate_series(1, 20000) i`);
    await f.pool.query(`ANALYZE "${f.schema}".conversation_counts`);
    await within(50, () => engine.getOverview({ actorId: "admin", campaignId }), ["conversation_counts"]);
  });

  it("O1, C3, sets are rows: member and sender look-ups read their own rows on a roster grown since the last ANALYZE", async () => {
    // 5,000 members and senders added after org_members and campaign_senders were analyzed (with
    // autovacuum off for them): the statistics say the roster has no rows.
    const tables = ["org_members", "campaign_senders"];
    for (const t of tables) await f.pool.query(`ALTER TABLE "${f.schema}".${t} SET (autovacuum_enabled = false)`);
    for (const t of tables) await f.pool.query(`ANALYZE "${f.schema}".${t}`);
    const org = await engine.createOrganization({ name: "Roster", ownerId: "owner" });
    const users = Array.from({ length: 5_000 }, (_, i) => `r${i}`);
    await engine.addMembers({ actorId: "owner", orgId: org.id, members: users.map((userId) => ({ userId, role: "texter" as const })) });
    const c = await engine.createCampaign({ actorId: "owner", orgId: org.id, title: "roster" });
    await engine.importContacts({ actorId: "owner", campaignId: c.id, contacts: Array.from({ length: 1_000 }, (_, i) => ({ contactId: `x${i}` })) });
    await engine.updateCampaignSettings({ actorId: "owner", campaignId: c.id, enabled: true, batchSize: 10, gate: "none" });
    await engine.launchCampaign({ actorId: "owner", campaignId: c.id });
    await engine.addSenders({ actorId: "owner", campaignId: c.id, userIds: users });
    await within(20, () => engine.addMember({ actorId: "owner", orgId: org.id, userId: "late", role: "texter" }), tables);
    await within(20, () => engine.getMember({ actorId: "owner", orgId: org.id, userId: "r4321" }), tables);
    await within(20, () => engine.requestConversations({ campaignId: c.id, texterId: "r4999" }), tables);
    const page = await within(2 * 51, () => engine.listMembers({ actorId: "owner", orgId: org.id, limit: 50 }), tables);
    await within(2 * 51, () => engine.listMembers({ actorId: "owner", orgId: org.id, limit: 50, cursor: page.cursor }), tables);
    await within(2 * 51, () => engine.listSenders({ actorId: "owner", campaignId: c.id, limit: 50 }), tables);
  });

  it("C6: bulk-send leases and acknowledgements read only the rows they lease", async () => {
    const campaignId = await freshCampaign({ bulkSend: true });
    // Re-run after the lease, the range also passes the 100 leased rows.
    const leased = await within(4 * 100 + 10, () => engine.leaseInitialSends({ campaignId, workerId: "w", limit: 100 }));
    expect(leased).toHaveLength(100);
    await within(3 * 100, () => engine.acknowledgeInitialSends({ campaignId, workerId: "w", conversationIds: leased.map((c) => c.id) }));
  });

  // The campaign context is read before (on the pool, not counted here).
  it("S3, S5, S8: a request takes one round trip, blocked or not; a keyed one three: BEGIN with its locks and state, the hand-out, the facts and key with COMMIT", async () => {
    const campaignId = await freshCampaign({ gate: "no-pending-initials" });
    for (const texterId of ["p3", "p4"]) {
      rec.take();
      const r = await engine.requestConversations({ campaignId, texterId, idempotencyKey: `k-${texterId}` });
      expect(r.ok && r.conversations.length).toBe(100);
      // The stored key (S8) goes with the facts and COMMIT.
      expect(rec.roundTrips()).toBe(3);
    }
    rec.take();
    expect(await engine.requestConversations({ campaignId, texterId: "p4" })).toEqual({ ok: false, reason: "batch_unfinished" });
    expect(rec.roundTrips()).toBe(1); // BEGIN, the locks, the checks (nothing handed out), COMMIT
    rec.take();
    const p5 = await engine.requestConversations({ campaignId, texterId: "p5" });
    expect(p5.ok && p5.conversations.length).toBe(100);
    expect(rec.roundTrips()).toBe(1); // the gate read and the hand-out in one statement
    // A campaign's first claim in this process reads its contact zones the usual way (T2): three round trips.
    const open = await freshCampaign();
    rec.take();
    expect((await engine.requestConversations({ campaignId: open, texterId: "p5" })).ok).toBe(true);
    expect(rec.roundTrips()).toBe(3);
    rec.take();
    expect((await engine.requestConversations({ campaignId: open, texterId: "p6" })).ok).toBe(true);
    expect(rec.roundTrips()).toBe(1);
  });

  it("A1, S4: an admin's \"any holder\" page reads about a page per holder, even when other campaigns' texters hold most of the table (never a scan of the table)", async () => {
    // A campaign held whole, then analyzed: a query over "assignee IS NOT NULL" of a campaign is
    // estimated at the table's held share and was planned as a sequential scan of every campaign.
    const held = (await engine.createCampaign({ actorId: "admin", orgId, title: "held" })).id;
    await engine.importContacts({ actorId: "admin", campaignId: held, contacts: Array.from({ length: 60_000 }, (_, i) => ({ contactId: `h${i}` })) });
    await engine.updateCampaignSettings({ actorId: "admin", campaignId: held, enabled: true, batchSize: 100, gate: "none" });
    await engine.launchCampaign({ actorId: "admin", campaignId: held });
    await engine.addSenders({ actorId: "admin", campaignId: held, userIds: texters });
    await engine.reassignSome({ actorId: "admin", campaignId: held, from: "unassigned", filter: "any", count: 60_000, to: texters });
    await f.pool.query(`ANALYZE "${f.schema}".conversations`);
    const campaignId = await freshCampaign();
    for (const texterId of ["p0", "p1", "p2"]) await engine.requestConversations({ campaignId, texterId });
    // The unassigned range's page, each holder's page and the descents that find the holders.
    const page = await within(101 + 3 * 101 + 4 + 10, () => engine.listConversations({ actorId: "admin", campaignId, limit: 100 }));
    expect(page.items).toHaveLength(100);
    expect(page.items.every((c) => c.assigneeId !== null)).toBe(true); // held rows come first in hand-out order here (their ranks were claimed first)
    const second = await within(101 + 3 * 101 + 4 + 10, () => engine.listConversations({ actorId: "admin", campaignId, limit: 100, cursor: page.cursor }));
    expect(second.items).toHaveLength(100);
  });
});

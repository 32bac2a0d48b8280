/**
 * The pool floor on PostgreSQL (migration 10, issue 12): a claim's range of the unassigned index
 * starts at the campaign's floor instead of walking the dead entries of every row claimed since the
 * last VACUUM. The floor is only a place to start: no committed unassigned row of rank <= 2 may ever
 * lie below it, or hand-out order (S4) breaks and rows are stranded. Checked here with releases below
 * the floor, a claim that rolls back after another raised the floor, and a race of claims, releases,
 * replies, moves and imports; and that a claim on a drained pool reads a few pages of the index.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { type PgClientLike, type PgPoolLike, createPostgresStorage } from "../src/postgres.js";
import { claimAndGiveSomeBack, manualClock, uniqueId } from "./helpers.js";
import { handOutScanBuffers, postgresFixture } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

describe("PostgreSQL pool floor (S4, migration 10)", () => {
  let f: Fixture;
  let engine: Engine;
  let orgId: string;
  const texters = Array.from({ length: 12 }, (_, i) => `t${i}`);

  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 16 });
    engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const org = await engine.createOrganization({ name: "Floor", ownerId: "admin" });
    orgId = org.id;
    await engine.addMembers({ actorId: "admin", orgId, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  });
  afterAll(async () => {
    await f.close();
  });

  async function campaign(size: number, batchSize: number, e: Engine = engine): Promise<string> {
    const c = await e.createCampaign({ actorId: "admin", orgId, title: "floor" });
    await e.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: size }, (_, i) => ({ contactId: `c${i}` })) });
    await e.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize, gate: "none" });
    await e.launchCampaign({ actorId: "admin", campaignId: c.id });
    await e.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters });
    return c.id;
  }

  /** The lowest unassigned row of rank <= 2 (hand-out order) and the floor the next hand-out starts at. */
  async function floorAndFirst(campaignId: string): Promise<{ floor: number[]; first: number[] | null }> {
    const s = `"${f.schema}"`;
    const { rows } = await f.pool.query<{ floor: string[]; first: string[] | null }>(
      `SELECT (SELECT ARRAY[rank, sort_key, seq]::text[] FROM (
                 SELECT coalesce((SELECT rank FROM ${s}.pool_floors WHERE campaign_id = $1), -1) AS rank,
                        coalesce((SELECT sort_key FROM ${s}.pool_floors WHERE campaign_id = $1), 0) AS sort_key,
                        coalesce((SELECT seq FROM ${s}.pool_floors WHERE campaign_id = $1), 0) AS seq
                 UNION ALL SELECT rank, sort_key, seq FROM ${s}.pool_floor_lowers WHERE campaign_id = $1
               ) u ORDER BY rank, sort_key, seq LIMIT 1) AS floor,
              (SELECT ARRAY[rank, sort_key, seq]::text[] FROM ${s}.conversations
               WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2 ORDER BY rank, sort_key, seq LIMIT 1) AS first`,
      [campaignId],
    );
    return { floor: rows[0]!.floor.map(Number), first: rows[0]!.first?.map(Number) ?? null };
  }

  /** Row positions compare as (rank, sort_key, seq). */
  const atOrBelow = (a: number[], b: number[]) => a[0]! < b[0]! || (a[0] === b[0] && (a[1]! < b[1]! || (a[1] === b[1] && a[2]! <= b[2]!)));

  async function expectFloorBelowEveryUnassignedRow(campaignId: string): Promise<void> {
    const { floor, first } = await floorAndFirst(campaignId);
    if (first !== null) expect(atOrBelow(floor, first), `floor ${floor} lies above the unassigned row ${first}`).toBe(true);
  }

  it("S4: rows released below a raised floor are handed out first, in hand-out order", async () => {
    const campaignId = await campaign(1_000, 100);
    const first = await engine.requestConversations({ campaignId, texterId: "t0" });
    for (let i = 0; i < 3; i++) await engine.requestConversations({ campaignId, texterId: "t1" });
    const floor = await floorAndFirst(campaignId);
    expect(floor.floor[0]).toBe(1); // raised into the not-started rows: the claims saw their own rows as the first
    expect(first.ok && first.conversations).toHaveLength(100);
    const released = first.ok ? first.conversations.slice(40, 70).map((c) => c.id) : [];
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: released });
    await expectFloorBelowEveryUnassignedRow(campaignId);
    const next = await engine.requestConversations({ campaignId, texterId: "t2" });
    expect(next.ok && next.conversations.slice(0, 30).map((c) => c.id)).toEqual(released);
    // A conversation that needs a reply, released, comes first (rank 0), below any floor.
    const held = next.ok ? next.conversations[50]! : null;
    await engine.recordInitialSent({ conversationId: held!.id });
    await engine.recordContactReply({ conversationId: held!.id });
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: [held!.id] });
    await expectFloorBelowEveryUnassignedRow(campaignId);
    const replied = await engine.requestConversations({ campaignId, texterId: "t3" });
    expect(replied.ok && replied.conversations[0]!.id).toBe(held!.id);
  });

  it("S4, I8: a claim that rolls back after another claim raised the floor leaves its rows first in line", async () => {
    // Claims through this pool stop before their facts (in the order they get there) until let go;
    // then they commit, or fail (the transaction rolls back).
    const holds: { reached: () => void; go: Promise<"commit" | "fail"> }[] = [];
    const pool: PgPoolLike = {
      async connect() {
        const client = await f.pool.connect();
        const proxy: PgClientLike = {
          async query(text, values) {
            const h = text.includes(".events") ? holds.shift() : undefined;
            if (h !== undefined) {
              h.reached();
              if ((await h.go) === "fail") throw new Error("injected failure before COMMIT");
            }
            return client.query(text, values as unknown[]) as never;
          },
          release: (destroy) => client.release(destroy),
        };
        return proxy;
      },
      query: (text, values) => f.pool.query(text, values as unknown[]) as never,
    };
    const held = createEngine({ storage: createPostgresStorage({ pool, schema: f.schema }), clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const hold = () => {
      let reached!: () => void;
      let go!: (how: "commit" | "fail") => void;
      const at = new Promise<void>((resolve) => (reached = resolve));
      holds.push({ reached, go: new Promise((resolve) => (go = resolve)) });
      return { at, go };
    };
    const campaignId = await campaign(600, 100);
    const seqs = (r: Awaited<ReturnType<Engine["requestConversations"]>>) => (r.ok ? r.conversations.map((c) => c.seq) : []);
    // x takes rows 0–99 and the floor row's lock; a takes rows 100–199 and finds the floor row locked.
    // Keyed requests: their transaction sends the facts (and key) with COMMIT after the hand-out, so the
    // test can hold it there (an unkeyed request sends everything in one query: fast-claim.ts).
    const x = hold();
    const xDone = held.requestConversations({ campaignId, texterId: "t0", idempotencyKey: "x" });
    await x.at;
    const a = hold();
    const aDone = held.requestConversations({ campaignId, texterId: "t1", idempotencyKey: "a" });
    await a.at;
    x.go("commit");
    expect(Math.min(...seqs(await xDone))).toBe(0);
    // b raises the floor while a's rows are taken but not committed: not past them.
    const b = await engine.requestConversations({ campaignId, texterId: "t2" });
    expect(Math.min(...seqs(b))).toBe(200);
    a.go("fail");
    await expect(aDone).rejects.toThrow();
    await expectFloorBelowEveryUnassignedRow(campaignId);
    const after = await engine.requestConversations({ campaignId, texterId: "t3" });
    expect(seqs(after)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i)); // a's rows, first in line
  });

  it("S4, I1: no unassigned row is ever left below the floor while claims, releases, replies, moves and imports race", async () => {
    const campaignId = await campaign(3_000, 25);
    let stop = false;
    let claimed = 0;
    const claimers = texters.slice(0, 8).map(async (texterId) => {
      while (!stop) claimed += await claimAndGiveSomeBack(engine, campaignId, texterId, { reply: claimed % 2 === 0 });
    });
    const admin = (async () => {
      for (let i = 0; i < 4; i++) {
        await engine.unassignAll({ actorId: "admin", campaignId });
        await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: 200 }, (_, k) => ({ contactId: `more-${i}-${k}` })) });
        await engine.reassignSome({ actorId: "admin", campaignId, from: "unassigned", filter: "any", count: 30, to: ["t9"] });
        await expectFloorBelowEveryUnassignedRow(campaignId);
      }
    })();
    await admin;
    stop = true;
    await Promise.all(claimers);
    await expectFloorBelowEveryUnassignedRow(campaignId);
    // Drain: every unassigned row is handed out, in hand-out order, to the last one.
    for (;;) {
      const r = await engine.requestConversations({ campaignId, texterId: "t10" });
      await expectFloorBelowEveryUnassignedRow(campaignId);
      if (!r.ok || r.conversations.length === 0) break;
    }
    const left = await f.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${f.schema}".conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2`, [campaignId]);
    expect(left.rows[0]!.n).toBe(0);
  });

  it("issue 12: on a pool drained since the last VACUUM, a claim's range starts at the floor: a few index pages, not the dead entries", async () => {
    const campaignId = await campaign(30_000, 100);
    await f.pool.query(`VACUUM "${f.schema}".conversations`);
    // Drained by one statement that leaves no unassigned row: the floor stays where it was.
    await f.pool.query(`UPDATE "${f.schema}".conversations SET assignee = 'gone', assigned_at = 0 WHERE campaign_id = $1 AND seq < 27000`, [campaignId]);
    const poolScanBuffers = () => handOutScanBuffers(f.pool, f.schema, { campaignId, limit: 100, ranks: [0, 1, 2], openZones: null, to: { texter: "t0" }, now: Date.now() }, "conversations_pool");
    const before = await poolScanBuffers(); // the floor is still at the start: the scan walks 27,000 dead entries
    await engine.requestConversations({ campaignId, texterId: "t0" }); // raises the floor past them
    const after = await poolScanBuffers();
    expect(before).toBeGreaterThan(100);
    expect(after).toBeLessThan(20);
  });

  it("a logical-replication publication of the floor and count tables (deletes published) does not fail claims, releases or the overview", async () => {
    const publication = `p_${f.schema}`;
    await f.pool.query(`CREATE PUBLICATION "${publication}" FOR TABLE "${f.schema}".pool_floors, "${f.schema}".pool_floor_lowers, "${f.schema}".conversation_counts`);
    try {
      const campaignId = await campaign(500, 50);
      const first = await engine.requestConversations({ campaignId, texterId: "t0" });
      expect(first.ok && first.conversations).toHaveLength(50);
      await engine.unassignAll({ actorId: "admin", campaignId });
      const again = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(again.ok && again.conversations.map((c) => c.id)).toEqual(first.ok ? first.conversations.map((c) => c.id) : []);
      expect((await engine.getOverview({ actorId: "admin", campaignId })).total).toBe(500);
    } finally {
      await f.pool.query(`DROP PUBLICATION "${publication}"`);
    }
  });
});

/**
 * The one-round-trip claim (`fast-claim.ts`): a request without key that is not a join checks, hands
 * out and records its facts in one query. What it decides must be what the usual claim decides on a
 * fresh read: changes made by another app server (a pause, a removal, the gate, a cap, a new contact
 * zone) are seen by the next request; its facts are the usual claim's; hostile ids stay data; claims
 * racing from two servers never share a row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { type PgPoolLike, createPostgresStorage } from "../src/postgres.js";
import { uniqueId } from "./helpers.js";
import { observedPool, postgresFixture } from "./support/postgres.js";

/** A pool whose round trips on checked-out clients are counted (a new client object per checkout). */
function counted(pool: PgPoolLike): { pool: PgPoolLike; trips: () => number } {
  let n = 0;
  return {
    pool: observedPool(pool, () => n++, { perCheckout: true }),
    trips() {
      const t = n;
      n = 0;
      return t;
    },
  };
}

describe("PostgreSQL one-round-trip claims", () => {
  let f: Awaited<ReturnType<typeof postgresFixture>>;
  let a: Engine; // this app server, round trips counted
  let b: Engine; // another app server
  let trips: () => number;
  let orgId: string;
  // 10:00 in Chicago, midnight in Singapore (T2: Singapore's contacts are outside texting hours).
  const now = Date.UTC(2026, 10, 3, 16, 0);
  const hostile = [`t'$1"conversationSeqs":[0];\nCOMMIT; --`, "$sa_0$", "__proto__", "t\\u0000", "\u{1F600}$2"];
  const texters = ["t1", "t2", "t3", ...hostile];

  beforeAll(async () => {
    f = await postgresFixture();
    const c = counted(f.pool);
    trips = c.trips;
    a = createEngine({ storage: createPostgresStorage({ pool: c.pool, schema: f.schema }), clock: () => now, generateId: (k) => uniqueId(k) });
    b = createEngine({ storage: f.server().storage, clock: () => now, generateId: (k) => uniqueId(k) });
    orgId = (await b.createOrganization({ name: "Fast", ownerId: "admin" })).id;
    await b.addMembers({ actorId: "admin", orgId, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  });
  afterAll(() => f.close());

  async function campaign(size: number, settings: { batchSize: number; gate?: "none" | "no-pending-initials"; maxHeldPerTexter?: number }, timeZone?: string): Promise<string> {
    const c = await b.createCampaign({ actorId: "admin", orgId, title: "fast" });
    await b.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: size }, (_, i) => ({ contactId: `c${i}`, ...(timeZone === undefined ? {} : { timeZone }) })) });
    await b.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, gate: "none", timeZone: "America/Chicago", ...settings });
    await b.launchCampaign({ actorId: "admin", campaignId: c.id });
    await b.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters });
    return c.id;
  }

  const ids = (r: Awaited<ReturnType<Engine["requestConversations"]>>) => (r.ok ? r.conversations.map((c) => c.id) : []);

  it("S1, S5, C3, I5: the gate, a removal and a pause made on another server are decided in one round trip, as the usual claim decides them", async () => {
    const campaignId = await campaign(100, { batchSize: 5, gate: "no-pending-initials" });
    for (const texterId of ["t1", "t2", "t3"]) expect(ids(await a.requestConversations({ campaignId, texterId }))).toHaveLength(5); // t1's: the campaign's first claim here, the usual way
    trips();
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "batch_unfinished" });
    expect(trips()).toBe(1);
    // t2 and t3 finish their batches on the other server; t2 is removed, then the campaign paused.
    for (const texterId of ["t2", "t3"]) {
      const held = await b.listAssignments({ actorId: texterId, campaignId, texterId, limit: 10 });
      await b.recordMessages({ campaignId, actorId: texterId, messages: held.items.map((c) => ({ conversationId: c.id, event: "initial_sent" as const })) });
    }
    await b.removeSender({ actorId: "admin", campaignId, userId: "t2" });
    expect(await a.requestConversations({ campaignId, texterId: "t2" })).toEqual({ ok: false, reason: "not_a_sender" });
    expect(trips()).toBe(1);
    await b.pauseCampaign({ actorId: "admin", campaignId });
    expect(await a.requestConversations({ campaignId, texterId: "t3" })).toEqual({ ok: false, reason: "campaign_not_active" });
    expect(trips()).toBe(1); // a conflict: the engine reads the context again and decides
    await b.resumeCampaign({ actorId: "admin", campaignId });
    expect(ids(await a.requestConversations({ campaignId, texterId: "t3" }))).toHaveLength(5);
    // Nothing a refused or blocked request did was written (t2's batch went back with the removal).
    const holders = (await f.inspect(campaignId)).map((r) => r.holder);
    expect(["t1", "t2", "t3", null].map((h) => holders.filter((x) => x === h).length)).toEqual([5, 0, 10, 85]);
  });

  it("S7: a cap that leaves room for less than a batch hands out the rest the usual way; a full cap blocks in one round trip", async () => {
    const campaignId = await campaign(100, { batchSize: 10, maxHeldPerTexter: 25 });
    const got = [];
    for (let k = 0; k < 3; k++) {
      trips();
      got.push({ n: ids(await a.requestConversations({ campaignId, texterId: "t1" })).length, trips: trips() });
    }
    expect(got).toEqual([
      { n: 10, trips: 3 }, // the campaign's first claim here
      { n: 10, trips: 1 },
      { n: 5, trips: 4 }, // room for 5: one round trip finds it, the usual claim hands them out
    ]);
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "cap_reached" });
    expect(trips()).toBe(1);
  });

  it("T2: a contact zone imported on another server after this one read the campaign's zones is seen: its contacts outside hours stay in the pool", async () => {
    const campaignId = await campaign(6, { batchSize: 10 }, "America/Chicago");
    expect(ids(await a.requestConversations({ campaignId, texterId: "t1" }))).toHaveLength(6);
    await b.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: 20 }, (_, i) => ({ contactId: `sg${i}`, timeZone: "Asia/Singapore" })) });
    expect(ids(await a.requestConversations({ campaignId, texterId: "t2" }))).toEqual([]);
    await b.importContacts({ actorId: "admin", campaignId, contacts: [{ contactId: "chi", timeZone: "America/Chicago" }] });
    const last = await a.requestConversations({ campaignId, texterId: "t2" });
    expect(last.ok && last.conversations.map((c) => c.contactId)).toEqual(["chi"]);
    expect((await f.inspect(campaignId)).filter((r) => r.holder === null)).toHaveLength(20);
  });

  it("S3, events: a one-round-trip claim records the usual claim's fact, hostile ids included", async () => {
    const campaignId = await campaign(200, { batchSize: 7 });
    const read = () => a.readEvents({ campaignId, types: ["conversations.assigned"] });
    const head = (await read()).length;
    const got = new Map<string, string[]>();
    for (const texterId of ["t1", ...hostile]) {
      trips();
      got.set(texterId, ids(await a.requestConversations({ campaignId, texterId })));
      expect(got.get(texterId)).toHaveLength(7);
      expect(trips()).toBe(texterId === "t1" ? 3 : 1); // t1's: the campaign's first claim here
    }
    const assigned = (await read()).slice(head);
    expect(assigned.map((e) => e.data)).toEqual([...got].map(([texterId, conversationIds]) => ({ texterId, conversationIds, reason: "request" })));
    expect(assigned.every((e) => e.actorId === (e.data as { texterId: string }).texterId && e.campaignId === campaignId && e.at === now)).toBe(true);
  });

  it("TIMEOUT: a one-round-trip claim that waits too long for its lock changes nothing and gives its connection back", async () => {
    const campaignId = await campaign(50, { batchSize: 5 });
    const one = counted(f.server({ poolSize: 1 }).pool);
    const impatient = createEngine({ storage: createPostgresStorage({ pool: one.pool, schema: f.schema, lockTimeoutMs: 200 }), clock: () => now, generateId: (k) => uniqueId(k) });
    expect(ids(await impatient.requestConversations({ campaignId, texterId: "t1" }))).toHaveLength(5);
    // Another transaction holds the campaign's lock exclusively (as a campaign commit does).
    const blocker = await f.pool.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [campaignId]);
    one.trips();
    await expect(impatient.requestConversations({ campaignId, texterId: "t1" })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(one.trips()).toBe(2); // the claim's one query, then ROLLBACK
    await blocker.query("ROLLBACK");
    blocker.release();
    // The pool's only connection came back and works.
    expect(ids(await impatient.requestConversations({ campaignId, texterId: "t1" }))).toHaveLength(5);
    expect((await f.inspect(campaignId)).filter((r) => r.holder !== null)).toHaveLength(10);
  });

  it("I1, I8, issue 12: a connection that lost its prepared claim (DEALLOCATE ALL, a proxy's other server connection) refuses it before anything changed; the claim runs the usual way, and the next one prepares it again", async () => {
    // One connection, and a proxy per connection (not per checkout), so the adapter remembers what
    // that connection prepared; round trips and prepared statements are counted on it.
    const one: PgPoolLike = f.server({ poolSize: 1 }).pool;
    let n = 0;
    const pool = observedPool(one, () => n++);
    const c = createEngine({ storage: createPostgresStorage({ pool, schema: f.schema }), clock: () => now, generateId: (k) => uniqueId(k) });
    const campaignId = await campaign(200, { batchSize: 10 });
    const prepared = async () => (await one.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'selfassign%'")).rows[0]!.n;
    const request = async (texterId: string) => {
      n = 0;
      const got = ids(await c.requestConversations({ campaignId, texterId }));
      expect(got).toHaveLength(10);
      return { got, trips: n };
    };
    await request("t1"); // reads the campaign's zones the usual way
    expect((await request("t2")).trips).toBe(1); // prepares, in the same round trip
    expect(await prepared()).toBe(1);
    expect((await request("t3")).trips).toBe(1);
    await one.query("DEALLOCATE ALL");
    const refused = await request("t1");
    expect(refused.trips).toBeGreaterThan(2); // the refused EXECUTE, its ROLLBACK, then the usual claim
    expect((await request("t2")).trips).toBe(1);
    expect(await prepared()).toBe(1);
    const rows = await f.inspect(campaignId);
    expect(rows.filter((r) => r.holder !== null)).toHaveLength(50);
    expect(new Set(rows.filter((r) => r.holder !== null).map((r) => r.id)).size).toBe(50);
    const overview = await c.getOverview({ actorId: "admin", campaignId });
    expect(overview.unassigned).toBe(150); // the counts too: each claim counted once
  });

  it("I1, I8, issue 12: a group's hand-out is prepared too; a connection that lost it fails the group before anything changed, and its members are handed out one by one", async () => {
    const one: PgPoolLike = f.server({ poolSize: 1 }).pool;
    const pool = observedPool(one, () => undefined);
    const c = createEngine({ storage: createPostgresStorage({ pool, schema: f.schema, maxConcurrentClaims: 1 }), clock: () => now, generateId: (k) => uniqueId(k) });
    const campaignId = await campaign(400, { batchSize: 10 });
    const prepared = async () => (await one.query<{ statement: string }>("SELECT statement FROM pg_prepared_statements WHERE starts_with(name, 'selfassign_')")).rows;
    const rush = async () => {
      const results = await Promise.all(texters.slice(0, 5).map((texterId) => c.requestConversations({ campaignId, texterId })));
      for (const r of results) expect(ids(r)).toHaveLength(10);
    };
    await rush(); // one runs, four wait: a group
    expect((await prepared()).some((p) => p.statement.includes("width_bucket"))).toBe(true); // the group's hand-out
    await one.query("DEALLOCATE ALL");
    await rush();
    await rush();
    expect((await prepared()).some((p) => p.statement.includes("width_bucket"))).toBe(true); // prepared again
    const rows = (await f.inspect(campaignId)).filter((r) => r.holder !== null);
    expect(rows).toHaveLength(150);
    expect(new Set(rows.map((r) => r.id)).size).toBe(150);
    expect((await c.getOverview({ actorId: "admin", campaignId })).unassigned).toBe(250);
  });

  it("I1, issue 12: a server connection keeps at most 32 prepared claims, whatever the clients (a new object per checkout: each one prepares); a deallocated one is prepared again", async () => {
    const one = f.server({ poolSize: 1 }).pool;
    const c = createEngine({ storage: createPostgresStorage({ pool: counted(one).pool, schema: f.schema }), clock: () => now, generateId: (k) => uniqueId(k) });
    const ours = async () => (await one.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE starts_with(name, 'selfassign_')")).rows[0]!.n;
    // The batch size is part of a statement's shape: 34 campaigns, 34 statements.
    const campaigns: string[] = [];
    for (let size = 1; size <= 34; size++) campaigns.push(await campaign(40, { batchSize: size }));
    for (const campaignId of campaigns) {
      for (const texterId of ["t1", "t2"]) expect(ids(await c.requestConversations({ campaignId, texterId })).length).toBeGreaterThan(0); // the second one prepared
    }
    expect(await ours()).toBe(32);
    const first = campaigns[0]!; // its statement was the oldest: deallocated
    expect(ids(await c.requestConversations({ campaignId: first, texterId: "t3" }))).toHaveLength(1);
    expect(await ours()).toBe(32);
    expect((await f.inspect(first)).filter((r) => r.holder !== null)).toHaveLength(3);
  });

  it("I1, I2: claims racing from two servers never share a row, and every row is handed out once", async () => {
    const campaignId = await campaign(3_000, { batchSize: 40 });
    const seen = new Map<string, string>();
    await Promise.all(
      [a, b].flatMap((engine) =>
        ["t1", "t2", "t3", "__proto__"].map(async (texterId) => {
          for (;;) {
            const r = await engine.requestConversations({ campaignId, texterId });
            if (!r.ok) {
              expect(r.reason).toBe("nothing_available"); // drained
              return;
            }
            for (const c of r.conversations) {
              expect(seen.has(c.id), `${c.id} handed out twice`).toBe(false);
              seen.set(c.id, texterId);
            }
          }
        }),
      ),
    );
    expect(seen.size).toBe(3_000);
    expect((await f.inspect(campaignId)).every((r) => r.holder !== null && r.holder === seen.get(r.id))).toBe(true);
  });
});

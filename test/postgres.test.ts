/**
 * PostgreSQL-only tests: real concurrency on many connections, killed connections, aborted
 * transactions and hostile strings. The shared suites (model, race, rules, scenario) also run here.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createEngine, type Engine, isAssignmentError } from "../src/index.js";
import { MIGRATIONS, createPostgresStorage } from "../src/postgres.js";
import type { PgPoolLike } from "../src/postgres.js";
import { readAllEvents, replayHolders } from "../src/testing/event-replay.js";
import { manualClock, uniqueId } from "./helpers.js";
import { postgresFixture } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

async function campaignWith(engine: Engine, contacts: number, texters: string[], settings: { batchSize: number; gate?: "none" | "no-pending-initials"; cap?: number | null }) {
  const org = await engine.createOrganization({ name: "Hammer", ownerId: "admin" });
  for (const t of texters) await engine.addMember({ actorId: "admin", orgId: org.id, userId: t, role: "texter" });
  const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Hammer" });
  await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: contacts }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({
    actorId: "admin",
    campaignId: c.id,
    enabled: true,
    batchSize: settings.batchSize,
    gate: settings.gate ?? "none",
    maxHeldPerTexter: settings.cap ?? null,
    textingHoursStart: "00:00", textingHoursEnd: "24:00", // these tests run on the real clock (T1)
  });
  await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
  await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters });
  return { orgId: org.id, campaignId: c.id };
}

/** Stored state agrees with the event log and every holder is a sender; returns holders by conversation. */
async function consistent(f: Fixture, engine: Engine, campaignId: string, contacts: number) {
  const rows = await f.inspect(campaignId);
  expect(rows).toHaveLength(contacts);
  expect(new Set(rows.map((r) => r.id)).size).toBe(contacts);
  const replay = replayHolders(await readAllEvents((a, l) => engine.readEvents({ after: a, limit: l })), campaignId);
  for (const r of rows) expect(replay.get(r.id) ?? null).toBe(r.holder);
  const senders = new Set((await engine.getCampaign(campaignId)).senders.map((s) => s.userId));
  for (const r of rows) if (r.holder !== null) expect(senders.has(r.holder)).toBe(true);
  return rows;
}

describe("PostgreSQL adapter under real concurrency", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 8 });
  });
  afterAll(async () => {
    await f.close();
  });

  it("I1, I2: 32 requesters over 8 connections drain a 100,000-conversation pool with zero duplicates", async () => {
    const engine = createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) });
    const texters = Array.from({ length: 32 }, (_, i) => `r${i}`);
    const contacts = 100_000;
    const { campaignId } = await campaignWith(engine, contacts, texters, { batchSize: 300 });
    const handed = new Set<string>();
    let duplicates = 0;
    await Promise.all(
      texters.map(async (texterId) => {
        for (;;) {
          const r = await engine.requestConversations({ campaignId, texterId });
          if (!r.ok) {
            expect(r.reason).toBe("nothing_available");
            return;
          }
          expect(r.conversations.length).toBeLessThanOrEqual(300);
          for (const c of r.conversations) {
            if (handed.has(c.id)) duplicates++;
            handed.add(c.id);
          }
        }
      }),
    );
    expect(duplicates).toBe(0);
    expect(handed.size).toBe(contacts);
    const rows = await consistent(f, engine, campaignId, contacts);
    expect(rows.every((r) => r.holder !== null)).toBe(true);
  });

  it("S5, S7: one texter's simultaneous requests on separate connections pass the gate once and never exceed the cap", async () => {
    const engine = createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) });
    const gated = await campaignWith(engine, 500, ["solo"], { batchSize: 7, gate: "no-pending-initials" });
    const results = await Promise.all(Array.from({ length: 16 }, () => engine.requestConversations({ campaignId: gated.campaignId, texterId: "solo" })));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === "batch_unfinished")).toHaveLength(15);
    expect((await f.inspect(gated.campaignId)).filter((r) => r.holder === "solo")).toHaveLength(7);

    const capped = await campaignWith(engine, 500, ["solo"], { batchSize: 7, gate: "none", cap: 30 });
    await Promise.all(Array.from({ length: 16 }, () => engine.requestConversations({ campaignId: capped.campaignId, texterId: "solo" })));
    expect((await f.inspect(capped.campaignId)).filter((r) => r.holder === "solo")).toHaveLength(30);
  });

  it("S5, S7, S8: grouped claims (many texters at once) keep each texter's gate, cap and idempotency key", async () => {
    const engine = createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) });
    const texters = Array.from({ length: 24 }, (_, i) => `g${i}`);
    const gated = await campaignWith(engine, 2000, texters, { batchSize: 5, gate: "no-pending-initials" });
    // Every texter clicks three times at once, twice with the same key.
    const results = await Promise.all(
      texters.flatMap((texterId) => [
        engine.requestConversations({ campaignId: gated.campaignId, texterId, idempotencyKey: "k" }),
        engine.requestConversations({ campaignId: gated.campaignId, texterId, idempotencyKey: "k" }),
        engine.requestConversations({ campaignId: gated.campaignId, texterId }),
      ]),
    );
    const rows = await f.inspect(gated.campaignId);
    for (const [i, texterId] of texters.entries()) {
      const mine = results.slice(i * 3, i * 3 + 3);
      const fresh = mine.filter((r) => r.ok && !r.replayed);
      expect(fresh).toHaveLength(1); // the gate let exactly one through
      expect(rows.filter((r) => r.holder === texterId)).toHaveLength(5);
      const keyed = mine.slice(0, 2).filter((r) => r.ok);
      if (keyed.length === 2) expect(keyed[0]!.ok && keyed[1]!.ok && keyed[0]!.conversations.map((c) => c.id)).toEqual(keyed[1]!.ok && keyed[1]!.conversations.map((c) => c.id));
    }
    const capped = await campaignWith(engine, 2000, texters, { batchSize: 4, gate: "none", cap: 10 });
    await Promise.all(texters.flatMap((texterId) => [1, 2, 3, 4].map(() => engine.requestConversations({ campaignId: capped.campaignId, texterId }))));
    const cappedRows = await f.inspect(capped.campaignId);
    for (const texterId of texters) expect(cappedRows.filter((r) => r.holder === texterId)).toHaveLength(10);
    await consistent(f, engine, capped.campaignId, 2000);
  });

  it("I2, I8: connections killed mid-claim and transactions aborted at random lose and duplicate nothing", async () => {
    const appName = uniqueId("victim").replaceAll("-", "_");
    const victimPool = new pg.Pool({ connectionString: f.url, max: 8, application_name: appName });
    victimPool.on("error", () => undefined);
    // A pool that fails about one statement in 40 before it reaches the server: the transaction around it aborts.
    // Every connection of the victim pool ignores its own termination: a backend killed between two
    // statements must fail the statement, not the test process.
    const guarded = new WeakSet<object>();
    const checkout = async () => {
      const client = await victimPool.connect();
      if (!guarded.has(client)) {
        guarded.add(client);
        client.on("error", () => undefined);
      }
      return client;
    };
    const flaky: PgPoolLike = {
      query: async (text, values) => {
        const client = await checkout();
        try {
          const result = await client.query(text, values as unknown[]);
          client.release();
          return result as never;
        } catch (error) {
          client.release(error instanceof Error ? error : true);
          throw error;
        }
      },
      connect: async () => {
        const client = await checkout();
        return {
          query: (text: string, values?: readonly unknown[]) => {
            if (text !== "ROLLBACK" && Math.random() < 0.025) return Promise.reject(new Error("injected fault"));
            return client.query(text, values as unknown[]) as never;
          },
          release: (destroy?: Error | boolean) => client.release(destroy),
        };
      },
    };
    const storage = createPostgresStorage({ pool: flaky, schema: f.schema });
    const engine = createEngine({ storage, generateId: (k) => uniqueId(k) });
    const steady = createEngine({ storage: f.storage });
    const texters = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const contacts = 20_000;
    // Set up on the steady engine; hammer through the flaky one.
    const setupEngine = createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) });
    const { campaignId } = await campaignWith(setupEngine, contacts, texters, { batchSize: 50 });

    let stop = false;
    let killed = 0;
    const killer = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, 15));
        const res = await f.pool.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM (
             SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle' ORDER BY random() LIMIT 1) v`,
          [appName],
        );
        killed += res.rows[0]?.n ?? 0;
      }
    })();
    const got = new Map<string, string>();
    let failures = 0;
    let unknown = 0;
    await Promise.all(
      texters.map(async (texterId) => {
        for (let i = 0; i < 1000; i++) {
          // One key per button press; a fault is retried with the same key (S8), which also settles
          // a commit whose outcome the fault left unknown.
          const idempotencyKey = `${texterId}-${i}`;
          for (let attempt = 0; ; attempt++) {
            try {
              const r = await engine.requestConversations({ campaignId, texterId, idempotencyKey });
              if (!r.ok) {
                if (r.reason === "nothing_available") return;
                throw new Error(`unexpected refusal ${r.reason}`);
              }
              for (const c of r.conversations) {
                const previous = got.get(c.id);
                if (previous !== undefined && !(r.replayed && previous === texterId)) throw new Error(`I1: ${c.id} twice`);
                got.set(c.id, texterId);
              }
              break;
            } catch (error) {
              if (!isAssignmentError(error, "STORAGE_ERROR") || attempt > 50) throw error;
              failures++;
              if (error.details.outcome === "unknown") unknown++;
            }
          }
        }
      }),
    );
    stop = true;
    await killer;
    await victimPool.end();
    expect(failures).toBeGreaterThan(0); // the faults really happened
    const rows = await consistent(f, steady, campaignId, contacts);
    // Every conversation a request reported is held by that texter; nothing else is held.
    const held = rows.filter((r) => r.holder !== null);
    for (const r of held) expect(got.get(r.id)).toBe(r.holder);
    expect(held.length).toBe(got.size);
    expect(killed).toBeGreaterThan(0);
    expect(got.size).toBe(contacts); // drained completely despite the faults
  });

  it("I8: without idempotency keys, a request reported as not applied assigned nothing (grouped claims, aborted transactions)", async () => {
    const base = f.pool;
    // Fail about one statement in 30 before it reaches the server.
    const flaky: PgPoolLike = {
      query: (text, values) => base.query(text, values as unknown[]) as never,
      connect: async () => {
        const client = await base.connect();
        return {
          query: (text: string, values?: readonly unknown[]) =>
            text !== "ROLLBACK" && text !== "COMMIT" && Math.random() < 1 / 30
              ? Promise.reject(new Error("injected fault"))
              : (client.query(text, values as unknown[]) as never),
          release: (destroy?: Error | boolean) => client.release(destroy),
        };
      },
    };
    const engine = createEngine({ storage: createPostgresStorage({ pool: flaky, schema: f.schema }), generateId: (k) => uniqueId(k) });
    const texters = Array.from({ length: 16 }, (_, i) => `n${i}`);
    const { campaignId } = await campaignWith(createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) }), 3000, texters, { batchSize: 20 });
    const got = new Map<string, string>();
    let notApplied = 0;
    await Promise.all(
      texters.map(async (texterId) => {
        for (let i = 0; i < 40; i++) {
          try {
            const r = await engine.requestConversations({ campaignId, texterId });
            if (r.ok) for (const c of r.conversations) got.set(c.id, texterId);
          } catch (error) {
            if (!isAssignmentError(error, "STORAGE_ERROR") || error.details.outcome !== "not_applied") throw error;
            notApplied++;
          }
        }
      }),
    );
    expect(notApplied).toBeGreaterThan(0);
    const held = (await f.inspect(campaignId)).filter((r) => r.holder !== null);
    for (const r of held) expect(got.get(r.id)).toBe(r.holder); // nothing held that no success reported
    expect(held).toHaveLength(got.size);
  });

  it("T2: a block of contacts outside texting hours at the head of the pool neither blocks nor slows the rest", async () => {
    const now = Date.UTC(2026, 10, 3, 16, 0); // 10:00 Chicago, 00:00 Singapore
    const engine = createEngine({ storage: f.storage, clock: () => now, generateId: (k) => uniqueId(k) });
    const org = await engine.createOrganization({ name: "Zones", ownerId: "admin" });
    await engine.addMember({ actorId: "admin", orgId: org.id, userId: "z", role: "texter" });
    const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Zones" });
    const contacts = [
      ...Array.from({ length: 20_000 }, (_, i) => ({ contactId: `sg${i}`, timeZone: "Asia/Singapore" })),
      ...Array.from({ length: 300 }, (_, i) => ({ contactId: `chi${i}`, timeZone: "America/Chicago" })),
      { contactId: "unknown" },
    ];
    await engine.importContacts({ actorId: "admin", campaignId, contacts });
    await engine.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize: 200, gate: "none", timeZone: "America/Chicago" });
    await engine.launchCampaign({ actorId: "admin", campaignId });
    await engine.addSenders({ actorId: "admin", campaignId, userIds: ["z"] });
    const first = await engine.requestConversations({ campaignId, texterId: "z" });
    expect(first.ok && first.conversations.every((c) => c.contactTimeZone === "America/Chicago")).toBe(true);
    const second = await engine.requestConversations({ campaignId, texterId: "z" });
    expect(second.ok && second.conversations.map((c) => c.contactId)).toEqual([
      ...Array.from({ length: 100 }, (_, i) => `chi${200 + i}`),
      "unknown",
    ]);
    expect(await engine.requestConversations({ campaignId, texterId: "z" })).toEqual({ ok: false, reason: "nothing_available" });
    // The claim reads only open zones: the plan uses the per-zone index, not a walk through Singapore.
    const plan = await f.pool.query(
      `EXPLAIN SELECT seq FROM "${f.schema}".conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank = 1 AND coalesce(contact_tz, '') = $2 ORDER BY sort_key, seq LIMIT 200`,
      [campaignId, "America/Chicago"],
    );
    expect(JSON.stringify(plan.rows)).toContain("conversations_pool_by_zone");
  });

  it("hostile strings in every id and name are stored as data", async () => {
    const nasty = [`'; drop table conversations; --`, `Robert"); DROP TABLE students;--`, "emoji 🗳️ ✅ ñ 漢字", "x".repeat(1000), "back\\slash $1 %s :colon:7"];
    // Inside the default texting hours (T1) whatever the hour this runs at.
    const engine = createEngine({ storage: f.storage, clock: manualClock().now });
    for (const [i, s] of nasty.entries()) {
      const orgId = `${s.slice(0, 900)}-org-${i}`;
      const owner = `${s.slice(0, 900)}-owner`;
      const texter = `${s.slice(0, 900)}-texter`;
      const org = await engine.createOrganization({ id: orgId, name: s, ownerId: owner });
      expect(org.id).toBe(orgId);
      await engine.addMember({ actorId: owner, orgId, userId: texter, role: "texter" });
      const c = await engine.createCampaign({ actorId: owner, orgId, title: s, id: `${s.slice(0, 900)}:campaign:${i}` });
      await engine.importContacts({ actorId: owner, campaignId: c.id, contacts: [{ contactId: s }, { contactId: `${s.slice(0, 900)}-2` }] });
      await engine.updateCampaignSettings({ actorId: owner, campaignId: c.id, enabled: true, batchSize: 5 });
      await engine.launchCampaign({ actorId: owner, campaignId: c.id });
      const { token } = await engine.enableInviteLink({ actorId: owner, campaignId: c.id });
      const joined = await engine.joinByInvite({ token, userId: texter });
      expect(joined.ok && joined.conversations.map((x) => x.contactId).sort()).toEqual([s, `${s.slice(0, 900)}-2`].sort());
      expect(await engine.joinByInvite({ token: s, userId: texter })).toEqual({ ok: false, reason: "invalid_token" });
      const again = await engine.requestConversations({ campaignId: c.id, texterId: texter, idempotencyKey: s });
      expect(again).toEqual({ ok: false, reason: "batch_unfinished" });
      expect((await engine.getCampaign(c.id)).title).toBe(s);
      expect((await engine.getOrganization(orgId)).name).toBe(s);
      const conv = await engine.getConversation(joined.ok ? joined.conversations[0]!.id : "");
      expect(conv.assigneeId).toBe(texter);
    }
    const tables = await f.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [f.schema]);
    expect(tables.rows[0].n).toBeGreaterThanOrEqual(10);
  });

  it("migrate() is idempotent and safe to run concurrently", async () => {
    const again = await Promise.all([f.storage.migrate(), f.storage.migrate(), f.storage.migrate()]);
    expect(again.every((r) => r.applied.length === 0)).toBe(true);
    const fresh = createPostgresStorage({ pool: f.pool, schema: `${f.schema}_m` });
    const results = await Promise.all([fresh.migrate(), fresh.migrate()]);
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, MIGRATIONS.length]);
    await f.pool.query(`DROP SCHEMA "${f.schema}_m" CASCADE`);
  });
});

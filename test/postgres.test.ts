/**
 * PostgreSQL-only tests: real concurrency on many connections, killed connections, aborted
 * transactions and hostile strings. The shared suites (model, race, rules, scenario) also run here.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { CHANNELS, createEngine, type Engine, isAssignmentError } from "../src/index.js";
import { MIGRATIONS, createPostgresStorage } from "../src/postgres.js";
import type { PgPoolLike } from "../src/postgres.js";
import { literal } from "../src/postgres/sql/batch.js";
import { readAllEvents, replayHolders } from "../src/testing/event-replay.js";
import { manualClock, uniqueId } from "./helpers.js";
import { numRuns } from "./numruns.js";
import { postgresFixture, schemaAtVersion } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

async function campaignWith(engine: Engine, contacts: number, texters: string[], settings: { batchSize: number; gate?: "none" | "no-pending-initials"; cap?: number | null }) {
  const org = await engine.createOrganization({ name: "Hammer", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
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
  const senders = new Set(await f.senders(campaignId));
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
        // A backend younger than 200 ms is spared: on a loaded machine a fresh backend's first
        // statements (cold caches) can outlast the 15 ms between kills, and every retry would run on
        // a fresh backend again — a livelock of the test, not of the adapter.
        const res = await f.pool.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM (
             SELECT pid FROM pg_stat_activity
             WHERE application_name = $1 AND state <> 'idle' AND backend_start < now() - interval '200 milliseconds'
             ORDER BY random() LIMIT 1) v`,
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
    // Fail about one query in 12 before it reaches the server — never a transaction's last one, which
    // commits (the facts travel with COMMIT; a fault there is reported as an unknown outcome: another
    // test). A one-round-trip claim (BEGIN … COMMIT in one query) is failed too: it cannot tell a
    // fault before sending from a connection lost after, so it reports `unknown`.
    const flaky: PgPoolLike = {
      query: (text, values) => base.query(text, values as unknown[]) as never,
      connect: async () => {
        const client = await base.connect();
        return {
          query: (text: string, values?: readonly unknown[]) =>
            text !== "ROLLBACK" && !(text.endsWith("COMMIT") && !text.startsWith("BEGIN")) && Math.random() < 1 / 12
              ? Promise.reject(new Error("injected fault"))
              : (client.query(text, values as unknown[]) as never),
          release: (destroy?: Error | boolean) => client.release(destroy),
        };
      },
    };
    // One claim at a time: requests wait and are grouped, so most transactions are grouped claims.
    const engine = createEngine({ storage: createPostgresStorage({ pool: flaky, schema: f.schema, maxConcurrentClaims: 1 }), generateId: (k) => uniqueId(k) });
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
            if (!isAssignmentError(error, "STORAGE_ERROR") || !["not_applied", "unknown"].includes(error.details.outcome as string)) throw error;
            if (error.details.outcome === "not_applied") notApplied++;
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
    // The claim reads only open zones: with the Singapore block in the pool (and statistics that know
    // it), the plan uses the per-zone index, not a walk through Singapore.
    await f.pool.query(`ANALYZE "${f.schema}".conversations`);
    const plan = await f.pool.query(
      `EXPLAIN SELECT seq FROM "${f.schema}".conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank = 1 AND coalesce(contact_tz, '') = $2 ORDER BY sort_key, seq LIMIT 200`,
      [campaignId, "America/Chicago"],
    );
    expect(JSON.stringify(plan.rows)).toContain("conversations_pool_by_zone");
    const first = await engine.requestConversations({ campaignId, texterId: "z" });
    expect(first.ok && first.conversations.every((c) => c.contactTimeZone === "America/Chicago")).toBe(true);
    const second = await engine.requestConversations({ campaignId, texterId: "z" });
    expect(second.ok && second.conversations.map((c) => c.contactId)).toEqual([
      ...Array.from({ length: 100 }, (_, i) => `chi${200 + i}`),
      "unknown",
    ]);
    expect(await engine.requestConversations({ campaignId, texterId: "z" })).toEqual({ ok: false, reason: "nothing_available" });
  });

  it("hostile strings in every id and name are stored as data", async () => {
    const nasty = [
      `'; drop table conversations; --`,
      `Robert"); DROP TABLE students;--`,
      "emoji 🗳️ ✅ ñ 漢字",
      "x".repeat(1000),
      "back\\slash $1 %s :colon:7",
      // Dollar-quote tags: lock keys and facts travel as dollar-quoted literals (batch.ts).
      "$sa$'); DROP TABLE events; --$sa$ $$ $sa0$",
      "ends in a tag prefix $sa",
    ];
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
      // The facts kept the strings exactly: the campaign's title and the claimed conversation's id.
      const facts = await engine.readEvents({ campaignId: c.id, limit: 100 });
      const assigned = facts.find((e) => e.type === "conversations.assigned");
      expect(assigned?.type === "conversations.assigned" && assigned.data.conversationIds).toContain(conv.id);
      expect(JSON.stringify(facts)).toContain(JSON.stringify(s).slice(1, -1));
    }
    const tables = await f.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1`, [f.schema]);
    expect(tables.rows[0].n).toBeGreaterThanOrEqual(10);
  });

  it("hostile strings: any text survives a dollar-quoted literal (lock keys and facts are sent inline)", async () => {
    const tagParts = fc.string({ unit: fc.constantFrom("$", "s", "a", "0", "1", "'", "\\", "x"), maxLength: 24 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(tagParts, fc.string({ unit: "binary", maxLength: 64 })), async (raw) => {
        const text = raw.replaceAll("\u0000", ""); // PostgreSQL text cannot hold NUL
        const { rows } = await f.pool.query<{ v: string }>(`SELECT ${literal(text)}::text AS v`);
        expect(rows[0]!.v).toBe(text);
      }),
      { numRuns: numRuns(300) },
    );
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An organization with `members` texters (added in one call) and an active campaign with self assignment and the invite link on. */
async function rushCampaign(engine: Engine, members: number, contacts: number, batchSize: number) {
  const org = await engine.createOrganization({ name: "Rush", ownerId: "admin" });
  const users = Array.from({ length: members }, (_, i) => `m${i}`);
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: users.map((userId) => ({ userId, role: "texter" as const })) });
  const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Rush" });
  await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: contacts }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize, gate: "none" });
  await engine.launchCampaign({ actorId: "admin", campaignId });
  const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId });
  return { orgId: org.id, campaignId, token, users };
}

/** A pool that counts the statements sent through it. */
function counting(pool: pg.Pool): { pool: PgPoolLike; statements: () => number } {
  let n = 0;
  return {
    statements: () => n,
    pool: {
      query: (text, values) => {
        n++;
        return pool.query(text, values as unknown[]) as never;
      },
      connect: async () => {
        const client = await pool.connect();
        return {
          query: (text: string, values?: readonly unknown[]) => {
            n++;
            return client.query(text, values as unknown[]) as never;
          },
          release: (destroy?: Error | boolean) => client.release(destroy),
        };
      },
    },
  };
}

describe("PostgreSQL under real organizations: sets are rows, fair locks, waiting (issue 9)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 8 });
  });
  afterAll(async () => {
    await f.close();
  });

  it("L3, I1, I7: 200 members join by invite at once through two app servers: no errors, 200 distinct first batches, no conversation twice", async () => {
    const clock = manualClock(); // inside texting hours (T1) whatever the hour
    const generateId = (k: string) => uniqueId(k);
    const one = createEngine({ storage: f.storage, clock: clock.now, generateId });
    const two = createEngine({ storage: f.server().storage, clock: clock.now, generateId });
    const { campaignId, token, users } = await rushCampaign(one, 200, 1100, 5);
    const results = await Promise.allSettled(users.map((userId, i) => (i % 2 === 0 ? one : two).joinByInvite({ token, userId })));
    const errors = results.filter((r) => r.status === "rejected");
    expect(errors, String(errors.map((e) => (e as PromiseRejectedResult).reason))).toEqual([]);
    const seen = new Set<string>();
    for (const [i, r] of results.entries()) {
      const joined = (r as PromiseFulfilledResult<Awaited<ReturnType<Engine["joinByInvite"]>>>).value;
      expect(joined.ok && joined.firstBatch, users[i]).toBe("assigned");
      if (!joined.ok) continue;
      expect(joined.alreadySender).toBe(false);
      expect(joined.conversations).toHaveLength(5);
      for (const c of joined.conversations) {
        expect(seen.has(c.id), `${c.id} twice`).toBe(false);
        seen.add(c.id);
        expect(c.assigneeId).toBe(users[i]);
      }
    }
    expect(seen.size).toBe(1000);
    expect(new Set(await f.senders(campaignId))).toEqual(new Set(users));
    const rows = await consistent(f, one, campaignId, 1100);
    expect(rows.filter((r) => r.holder !== null)).toHaveLength(1000);
    // Joining twice is harmless (L3) and gives nothing more to a member who holds conversations (I7).
    expect(await two.joinByInvite({ token, userId: users[0]! })).toMatchObject({ ok: true, alreadySender: true, firstBatch: "already_holding", conversations: [] });
  });

  it("C1, C7: with 32 requesters claiming in a loop, pauseCampaign completes within seconds and no claim commits after it", async () => {
    const generateId = (k: string) => uniqueId(k);
    const setup = createEngine({ storage: f.storage, generateId });
    const texters = Array.from({ length: 32 }, (_, i) => `p${i}`);
    const { campaignId } = await campaignWith(setup, 50_000, texters, { batchSize: 5 });
    // The requesters run on one app server with a claim transaction per request (no grouping) and
    // a connection each, so shared locks overlap all the time; the admin acts from another.
    const server = f.server({ poolSize: 32, maxConcurrentClaims: 32, maxClaimGroup: 1 });
    await Promise.all(Array.from({ length: 32 }, () => server.pool.query("SELECT 1"))); // connections open
    const claims = createEngine({ storage: server.storage });
    const admin = createEngine({ storage: f.storage });
    let stop = false;
    let pausedAt: number | null = null;
    let claimed = 0;
    const lateSuccesses: string[] = [];
    const loops = texters.map(async (texterId) => {
      while (!stop) {
        const startedAfterPause = pausedAt !== null;
        const r = await claims.requestConversations({ campaignId, texterId });
        if (r.ok) {
          claimed++;
          if (startedAfterPause) lateSuccesses.push(texterId);
        } else expect(r.reason).toBe("campaign_not_active");
      }
    });
    await sleep(1000); // claims running at full speed
    const before = claimed;
    const started = performance.now();
    await admin.pauseCampaign({ actorId: "admin", campaignId });
    const took = performance.now() - started;
    pausedAt = performance.now();
    const heldAtPause = (await f.inspect(campaignId)).filter((r) => r.holder !== null).length;
    await sleep(300); // requesters keep pressing the button
    stop = true;
    await Promise.all(loops);
    expect(before).toBeGreaterThan(0);
    expect(took, "pauseCampaign waited its turn, not until the requesters stopped").toBeLessThan(5000);
    expect(lateSuccesses).toEqual([]);
    expect((await f.inspect(campaignId)).filter((r) => r.holder !== null)).toHaveLength(heldAtPause);
    // In the fact log no assignment comes after the pause.
    const events = (await readAllEvents((after, limit) => admin.readEvents({ after, limit, campaignId }))).filter((e) => e.campaignId === campaignId);
    const pause = events.find((e) => e.type === "campaign.status_changed" && e.data.to === "paused")!;
    expect(pause).toBeDefined();
    expect(events.filter((e) => e.type === "conversations.assigned" && e.seq > pause.seq)).toEqual([]);
    expect(events.filter((e) => e.type === "conversations.assigned").length).toBeGreaterThan(0);
    await consistent(f, admin, campaignId, 50_000);
  });

  it("O1, C3: addMembers and addSenders of 10,000 users in one call are a handful of statements; repeats report them existing; rosters page in the order rows were added", async () => {
    const counted = counting(f.pool);
    const engine = createEngine({ storage: createPostgresStorage({ pool: counted.pool, schema: f.schema }), generateId: (k) => uniqueId(k) });
    const org = await engine.createOrganization({ name: "Big", ownerId: "admin" });
    const members = Array.from({ length: 10_000 }, (_, i) => ({ userId: `big${i}`, role: i % 100 === 0 ? ("admin" as const) : ("texter" as const) }));
    const before = counted.statements();
    const first = await engine.addMembers({ actorId: "admin", orgId: org.id, members });
    expect(counted.statements() - before, "statements for 10,000 adds").toBeLessThanOrEqual(10);
    expect(first.added).toEqual(members.map((m) => m.userId));
    expect(first.existing).toEqual([]);
    const again = await engine.addMembers({ actorId: "admin", orgId: org.id, members: [...members.slice(0, 9_999), { userId: "late", role: "texter" }] });
    expect(again.added).toEqual(["late"]);
    expect(again.existing).toEqual(members.slice(0, 9_999).map((m) => m.userId));
    const listed: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await engine.listMembers({ actorId: "admin", orgId: org.id, cursor, limit: 1000 });
      listed.push(...page.items.map((m) => m.userId));
      if (page.cursor === null) break;
      cursor = page.cursor;
    }
    expect(listed).toEqual(["admin", ...members.map((m) => m.userId), "late"]);
    expect(await engine.getMember({ actorId: "admin", orgId: org.id, userId: "big100" })).toMatchObject({ userId: "big100", role: "admin" });
    // Adding a member reads one row, not the roster: the same statements at 10,000 members as at 1.
    const one = counted.statements();
    await engine.addMember({ actorId: "admin", orgId: org.id, userId: "one-more", role: "texter" });
    expect(counted.statements() - one).toBeLessThanOrEqual(10);
    // C3: 10,000 senders in one call, members only, in the order given.
    const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Big" });
    const senders = members.map((m) => m.userId).reverse();
    const beforeSenders = counted.statements();
    const r = await engine.addSenders({ actorId: "admin", campaignId, userIds: senders });
    expect(counted.statements() - beforeSenders, "statements for 10,000 senders").toBeLessThanOrEqual(10);
    expect(r.added).toEqual(senders);
    expect((await engine.addSenders({ actorId: "admin", campaignId, userIds: ["big1", "late"] })).added).toEqual(["late"]);
    await expect(engine.addSenders({ actorId: "admin", campaignId, userIds: ["big2", "stranger"] })).rejects.toSatisfy((e) => isAssignmentError(e, "NOT_A_MEMBER"));
    expect(await f.senders(campaignId)).toEqual([...senders, "late"]);
    const firstPage = await engine.listSenders({ actorId: "admin", campaignId, limit: 3 });
    expect(firstPage.items.map((x) => x.userId)).toEqual(senders.slice(0, 3));
    expect(firstPage.items[0]).toMatchObject({ via: "admin" });
  });

  it("C3: a member removed while joining by invite is never left a sender (60 races)", async () => {
    const clock = manualClock();
    const engine = createEngine({ storage: f.storage, clock: clock.now, generateId: (k) => uniqueId(k) });
    const other = createEngine({ storage: f.server().storage, clock: clock.now });
    const { orgId, campaignId, token, users } = await rushCampaign(engine, 60, 600, 3);
    const outcomes = await Promise.all(
      users.map(async (userId, i) => {
        const [join, remove] = await Promise.allSettled([
          (i % 2 === 0 ? engine : other).joinByInvite({ token, userId }),
          (i % 2 === 0 ? other : engine).removeMember({ actorId: "admin", orgId, userId }),
        ]);
        const joined = join.status === "fulfilled" && join.value.ok;
        const removed = remove.status === "fulfilled";
        if (joined) expect(remove.status === "rejected" && isAssignmentError(remove.reason, "INVALID_STATE"), userId).toBe(true);
        else expect(join.status === "fulfilled" && !join.value.ok && join.value.reason === "not_a_member", userId).toBe(true);
        expect(joined !== removed, `${userId}: exactly one of the two goes through`).toBe(true);
        return joined ? "joined" : "removed";
      }),
    );
    const { rows: strays } = await f.pool.query(
      `SELECT s.user_id FROM "${f.schema}".campaign_senders s
       LEFT JOIN "${f.schema}".org_members m ON m.org_id = $2 AND m.user_id = s.user_id
       WHERE s.campaign_id = $1 AND m.user_id IS NULL`,
      [campaignId, orgId],
    );
    expect(strays).toEqual([]);
    expect(outcomes.filter((o) => o === "joined").length + outcomes.filter((o) => o === "removed").length).toBe(60);
  });

  it("I8: a lock wait that runs out fails with TIMEOUT and changes nothing (lockTimeoutMs), told on selfassign:timeout and to the logger", async () => {
    const engine = createEngine({ storage: f.storage, generateId: (k) => uniqueId(k) });
    const { campaignId } = await campaignWith(engine, 100, ["w"], { batchSize: 5 });
    const warned: unknown[] = [];
    const impatient = createEngine({ storage: f.server({ lockTimeoutMs: 200 }).storage, logger: { warn: (_message, data) => void warned.push(data) } });
    const published: unknown[] = [];
    const onTimeout = (message: unknown) => void published.push(message);
    subscribe(CHANNELS.timeout, onTimeout);
    const locker = await f.pool.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [campaignId]); // as a long campaign commit holds it
      const started = performance.now();
      const error = await impatient.requestConversations({ campaignId, texterId: "w" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isAssignmentError(error, "TIMEOUT"), String(error)).toBe(true);
      expect(isAssignmentError(error) && error.details.lockTimeoutMs).toBe(200);
      expect(performance.now() - started).toBeLessThan(5000);
      await expect(impatient.pauseCampaign({ actorId: "admin", campaignId })).rejects.toSatisfy((e) => isAssignmentError(e, "TIMEOUT"));
      expect((await f.inspect(campaignId)).every((r) => r.holder === null)).toBe(true);
      expect(published).toHaveLength(2);
      expect(published).toContainEqual({ operation: "storage.claim", waitTimeoutMs: 200 });
      expect(warned).toEqual(published);
    } finally {
      unsubscribe(CHANNELS.timeout, onTimeout);
      await locker.query("ROLLBACK");
      locker.release();
    }
    const r = await impatient.requestConversations({ campaignId, texterId: "w" });
    expect(r.ok && r.conversations).toHaveLength(5);
    expect((await engine.getCampaign(campaignId)).status).toBe("active");
  });

  it("readEvents filters by organization, campaign and type, in log order", async () => {
    const engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (k) => uniqueId(k) });
    const a = await campaignWith(engine, 20, ["fa"], { batchSize: 5 });
    const b = await campaignWith(engine, 20, ["fb"], { batchSize: 5 });
    await engine.requestConversations({ campaignId: a.campaignId, texterId: "fa" });
    await engine.requestConversations({ campaignId: b.campaignId, texterId: "fb" });
    const all = await readAllEvents((after, limit) => engine.readEvents({ after, limit }));
    const ofA = await engine.readEvents({ campaignId: a.campaignId, limit: 1000 });
    expect(ofA.map((e) => e.seq)).toEqual(all.filter((e) => e.campaignId === a.campaignId).map((e) => e.seq));
    const orgB = await engine.readEvents({ orgId: b.orgId, limit: 1000 });
    expect(orgB.map((e) => e.seq)).toEqual(all.filter((e) => e.orgId === b.orgId).map((e) => e.seq));
    const assigned = await engine.readEvents({ orgId: a.orgId, types: ["conversations.assigned", "sender.joined"], limit: 1000 });
    expect(assigned.map((e) => e.type)).toEqual(["sender.joined", "conversations.assigned"]);
    expect(await engine.readEvents({ campaignId: "'; DROP TABLE events; --", limit: 10 })).toEqual([]);
  });
});

describe("PostgreSQL migrations keep existing databases (issue 9)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await postgresFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("a database at version 4 keeps its rosters, their order and its campaigns; new rows follow the old ones", async () => {
    const schema = `${f.schema}_v4`;
    const q = `"${schema}"`;
    // Version 4 as an earlier release left it: rosters in rows with max(position) + 1 positions, members
    // without added_at, a campaign document that still carries `senders` and predates `bulkSend`.
    await schemaAtVersion(f.pool, schema, 4);
    const created = Date.UTC(2026, 0, 5);
    await f.pool.query(`INSERT INTO ${q}.organizations VALUES ('org', 'Old Org', 3, 300, $1)`, [created]);
    await f.pool.query(`INSERT INTO ${q}.org_members VALUES ('org', 'owner', 'owner', 1), ('org', 'zed', 'texter', 2), ('org', 'amy', 'admin', 3)`);
    const data = {
      title: "Old",
      createdAt: created,
      launchedAt: created + 1000,
      selfAssignment: { enabled: true, batchSize: 2, gate: "none", maxHeldPerTexter: null, allowSelfRelease: false, releaseNotStartedAfterMs: null, releaseNeedsReplyAfterMs: null },
      invite: { enabled: false, token: null, revokedTokens: [] },
      schedule: { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null },
      senders: [{ userId: "zed", addedAt: created, via: "admin" }],
    };
    await f.pool.query(`INSERT INTO ${q}.campaigns (id, org_id, version, status, batch_size, next_seq, data) VALUES ('cmp', 'org', 4, 'active', 2, 0, $1)`, [JSON.stringify(data)]);
    await f.pool.query(`INSERT INTO ${q}.campaign_senders VALUES ('cmp', 'zed', 1, $1, 'admin'), ('cmp', 'amy', 2, $1, 'invite')`, [created]);

    const storage = createPostgresStorage({ pool: f.pool, schema });
    const [a, b] = await Promise.all([storage.migrate(), storage.migrate()]); // two app servers upgrading at once
    expect([a.applied, b.applied].sort((x, y) => x.length - y.length)).toEqual([[], MIGRATIONS.filter((m) => m.version > 4).map((m) => m.version)]);

    const clock = manualClock();
    const engine = createEngine({ storage, clock: clock.now });
    const campaign = await engine.getCampaign("cmp");
    expect(campaign.bulkSend).toBeNull();
    expect("senders" in campaign).toBe(false);
    expect((await engine.listMembers({ actorId: "owner", orgId: "org" })).items).toEqual([
      { userId: "owner", role: "owner", addedAt: created },
      { userId: "zed", role: "texter", addedAt: created },
      { userId: "amy", role: "admin", addedAt: created },
    ]);
    await engine.addMember({ actorId: "owner", orgId: "org", userId: "new", role: "texter" });
    await engine.addSenders({ actorId: "owner", campaignId: "cmp", userIds: ["new", "owner"] });
    expect((await engine.listMembers({ actorId: "owner", orgId: "org" })).items.map((m) => m.userId)).toEqual(["owner", "zed", "amy", "new"]);
    expect((await engine.listSenders({ actorId: "owner", campaignId: "cmp" })).items.map((s) => s.userId)).toEqual(["zed", "amy", "new", "owner"]);
    // The upgraded campaign works: import, request, and it is listed.
    await engine.importContacts({ actorId: "owner", campaignId: "cmp", contacts: [{ contactId: "x" }, { contactId: "y" }, { contactId: "z" }] });
    const r = await engine.requestConversations({ campaignId: "cmp", texterId: "zed" });
    expect(r.ok && r.conversations.map((c) => c.contactId)).toEqual(["x", "y"]);
    await expect(engine.removeMember({ actorId: "owner", orgId: "org", userId: "zed" })).rejects.toSatisfy((e) => isAssignmentError(e, "INVALID_STATE"));
    await f.pool.query(`DROP SCHEMA ${q} CASCADE`);
  });
});

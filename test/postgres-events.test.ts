/**
 * PostgreSQL only: the event log as hosts use it — numbering that never makes a reader wait for
 * another and never goes backwards, push with LISTEN/NOTIFY (and polling without it), a LISTEN
 * connection that dies, actor types, shared transactions (the engine's change inside the host's own
 * transaction), and claims that leave the in-memory queue when their signal aborts.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import * as fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CHANNELS, createEngine, type Engine, isAssignmentError, type SelfAssignEvent } from "../src/index.js";
import { createPostgresStorage, type PostgresStorage, type PostgresStorageOptions } from "../src/postgres.js";
import { packIds, unpackIds } from "../src/postgres/sql/facts.js";
import { MIGRATIONS } from "../src/postgres/sql/migrations.js";
import { manualClock, uniqueId } from "./helpers.js";
import { numRuns } from "./numruns.js";
import { postgresFixture, schemaAtVersion } from "./support/postgres.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe` until it gives a value, or fail after `timeoutMs`. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> =>
  vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`still waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 20 },
  );

/** `p`, or a rejection after `ms`: a call that waits on another reader fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`still waiting after ${ms} ms`)))]);
}

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

/** Another app server on the fixture's schema: its own pool (named, so its backends can be found) and adapter. */
function server(f: Fixture, pools: pg.Pool[], options: Partial<PostgresStorageOptions> = {}) {
  const appName = uniqueId("events").replaceAll("-", "_");
  const pool = new pg.Pool({ connectionString: f.url, max: 4, application_name: appName });
  pools.push(pool);
  const storage = createPostgresStorage({ pool, schema: f.schema, ...options });
  const clock = manualClock();
  const engine = createEngine({ storage, clock: clock.now, generateId: (kind) => uniqueId(kind) });
  return { appName, pool, storage, engine };
}

/** Collect what a watcher yields; `stop()` aborts it and waits for it to end. */
function watch(engine: Engine, input: { pollMs: number; orgId?: string; campaignId?: string }) {
  const controller = new AbortController();
  const seen: { event: SelfAssignEvent; at: number }[] = [];
  const done = (async () => {
    for await (const event of engine.watchEvents({ ...input, signal: controller.signal })) seen.push({ event, at: Date.now() });
  })();
  return {
    seen,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** The backends of a pool (by application name) whose last statement was a LISTEN. */
async function listeners(admin: pg.Pool, appName: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, [appName]);
  return rows.map((r) => r.pid);
}

describe("events on PostgreSQL", () => {
  let f: Fixture;
  const pools: pg.Pool[] = [];
  let numberingKey: string;

  beforeAll(async () => {
    f = await postgresFixture();
    numberingKey = `selfassign:events:"${f.schema}"`;
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await f.close();
  });

  it("Events, A6: facts carry their actor type; migration 6 gives earlier facts `host` without an actor, else `user`; migration 9 keeps their payloads", async () => {
    const { engine } = server(f, pools);
    const org = await engine.createOrganization({ name: "Types", ownerId: "owner" });
    expect((await engine.readEvents({ orgId: org.id, limit: 10 })).map((e) => [e.type, e.actorId, e.actorType])).toEqual([
      ["organization.created", "owner", "user"],
      ["organization.member_added", "owner", "user"],
    ]);
    const stored = await f.pool.query(`SELECT actor_type FROM "${f.schema}".events WHERE org_id = $1`, [org.id]);
    expect(stored.rows).toEqual([{ actor_type: "user" }, { actor_type: "user" }]);

    // A database at version 5 with facts recorded before actor types existed.
    const old = `old_${process.pid}_${Date.now().toString(36)}`;
    try {
      await schemaAtVersion(f.pool, old, 5);
      await f.pool.query(
        `INSERT INTO "${old}".events (type, at, org_id, campaign_id, actor_id, data) VALUES
         ('organization.created', 1, 'o', NULL, 'alice', '{}'), ('conversation.status_changed', 2, 'o', 'c', NULL, '{"conversationId": "c:7", "ids": ["c:1", "c:2"], "n": 3}')`,
      );
      const upgraded = createPostgresStorage({ pool: f.pool, schema: old });
      expect((await upgraded.migrate()).applied).toEqual(MIGRATIONS.filter((m) => m.version > 5).map((m) => m.version));
      expect((await upgraded.readFacts({ after: 0, limit: 10 })).map((e) => [e.seq, e.actorId, e.actorType, e.data])).toEqual([
        [1, "alice", "user", {}],
        [2, null, "host", { conversationId: "c:7", ids: ["c:1", "c:2"], n: 3 }], // migration 9 keeps payloads as they were
      ]);
    } finally {
      await f.pool.query(`DROP SCHEMA IF EXISTS "${old}" CASCADE`);
    }
  });

  it("Events: no reader waits for another — with the numbering lock held elsewhere a read returns at once, and the fact is numbered soon after", async () => {
    const { storage, engine } = server(f, pools);
    const org = await engine.createOrganization({ name: "Readers", ownerId: "owner" });
    const before = await engine.readEvents({ orgId: org.id, limit: 10 });
    expect(before.map((e) => e.type)).toEqual(["organization.created", "organization.member_added"]);
    const holder = await f.pool.connect();
    try {
      // Another reader in the middle of numbering (it holds the numbering lock until it commits).
      await holder.query("BEGIN");
      await holder.query("SELECT pg_advisory_xact_lock(hashtext($1))", [numberingKey]);
      await engine.addMember({ actorId: "owner", orgId: org.id, userId: "m1", role: "texter" });
      const heard: number[] = [];
      const stop = storage.onFacts(() => heard.push(Date.now()));
      // Reads and the head return at once, with what is numbered already.
      expect(await within(2000, engine.readEvents({ orgId: org.id, limit: 10 }))).toEqual(before);
      const head = await within(2000, engine.getEventHead());
      expect(head).toBeGreaterThanOrEqual(before[1]!.seq);
      const unnumbered = async () => (await f.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${f.schema}".events WHERE seq IS NULL`)).rows[0]!.n;
      await sleep(200);
      expect(await unnumbered()).toBe(1);
      heard.length = 0;
      await holder.query("COMMIT");
      // Nobody reads again: the adapter numbers what it left behind on its own, then tells its listeners.
      await until("the background numbering", async () => ((await unnumbered()) === 0 ? true : undefined), 3000);
      await until("the listeners to be told", async () => (heard.length > 0 ? true : undefined), 3000);
      stop();
      const after = await engine.readEvents({ orgId: org.id, limit: 10 });
      expect(after.slice(0, 2)).toEqual(before);
      expect(after[2]).toMatchObject({ type: "organization.member_added", data: { userId: "m1" } });
      expect(after[2]!.seq).toBeGreaterThan(head);
    } finally {
      await holder.query("ROLLBACK").catch(() => undefined);
      holder.release();
    }
  });

  it("Events: a numbering reads the index of unnumbered facts, not every fact numbered since the last VACUUM, and is never JIT-compiled (migration 13)", async () => {
    const g = await postgresFixture();
    try {
      const q = `"${g.schema}"`;
      // Never analyzed and never vacuumed, as an events table is between autovacuum runs.
      await g.pool.query(`ALTER TABLE ${q}.events SET (autovacuum_enabled = false)`);
      const claimFact = JSON.stringify({ conversationSeqs: Array.from({ length: 300 }, (_, i) => 100_000 + i) });
      const insert = (n: number) =>
        g.pool.query(
          `INSERT INTO ${q}.events (type, at, org_id, campaign_id, actor_id, actor_type, data)
           SELECT 'conversations.assigned', 1, 'o', 'c', 'a', 'user', $1::jsonb FROM generate_series(1, $2::int)`,
          [claimFact, n],
        );
      await insert(20_000);
      await g.pool.query(`SELECT * FROM ${q}.number_events()`); // leaves 20,000 old versions whose seq is NULL
      // The next scan of the index visits each of them in the heap once and marks its entry dead; later
      // scans step over marked entries. (A bitmap scan uses no such marks: it reads them all, each time.)
      await g.pool.query(`SELECT * FROM ${q}.number_events()`);
      for (let round = 1; round <= 3; round++) {
        await insert(10);
        const { rows } = await g.pool.query<{ "QUERY PLAN": [{ Plan: Record<string, number> }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM ${q}.number_events()`);
        const plan = rows[0]!["QUERY PLAN"][0].Plan;
        // About a page per 400 dead index entries, and the 10 facts; a bitmap of them read ~3,000 heap pages.
        expect(plan["Shared Hit Blocks"]! + plan["Shared Read Blocks"]!).toBeLessThan(400);
        const { rows: numbered } = await g.pool.query<{ unnumbered: number; head: string }>(
          `SELECT count(*) FILTER (WHERE seq IS NULL)::int AS unnumbered, max(seq) AS head FROM ${q}.events`,
        );
        expect(numbered[0]).toEqual({ unnumbered: 0, head: String(20_000 + 10 * round) });
      }
      // Nor is it JIT-compiled, whatever its estimates (at about 60,000 facts they crossed
      // jit_above_cost: 6 ms of compiling per numbering). Seen with auto_explain (superuser only), on a
      // new session (plans of the function's statements are cached per session): with jit_above_cost = 0
      // any statement the function runs would be compiled.
      const client = new pg.Client({ connectionString: g.url });
      await client.connect();
      try {
        const { rows: role } = await client.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
        if (role[0]!.rolsuper) {
          await client.query("LOAD 'auto_explain'");
          await client.query(
            "SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET auto_explain.log_format = json; SET jit_above_cost = 0",
          );
          const plans: string[] = [];
          client.on("notice", (n) => plans.push(n.message ?? ""));
          await insert(10);
          await client.query(`SELECT * FROM ${q}.number_events()`);
          const inner = plans.filter((p) => !p.includes("number_events()"));
          expect(inner.filter((p) => p.includes("UPDATE") && p.includes(".events e"))).toHaveLength(1);
          expect(inner.filter((p) => p.includes('"JIT"'))).toEqual([]);
        } else {
          // Without auto_explain, the settings the function runs with.
          const { rows: config } = await client.query<{ proconfig: string[] }>(`SELECT proconfig FROM pg_proc WHERE oid = '${q}.number_events'::regproc`);
          expect(config[0]!.proconfig).toEqual(expect.arrayContaining(["enable_bitmapscan=off", "jit=off"]));
        }
      } finally {
        await client.end();
      }
    } finally {
      await g.close();
    }
  });

  it("Events: positions never go backwards — many writers and readers at once; every reader sees every fact exactly once, in order", async () => {
    const g = await postgresFixture({ poolSize: 12 });
    try {
      const engine = createEngine({ storage: g.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
      const readers = Array.from({ length: 4 }, () => ({ seen: [] as number[], after: 0 }));
      let writing = true;
      const read = async (r: (typeof readers)[number]) => {
        for (;;) {
          const page = await g.storage.readFacts({ after: r.after, limit: 7 });
          for (const e of page) {
            r.seen.push(e.seq);
            r.after = e.seq;
          }
          if (page.length === 0) {
            if (!writing) {
              const { rows } = await g.pool.query<{ n: number; last: number | null }>(`SELECT count(*) FILTER (WHERE seq IS NULL)::int AS n, max(seq)::int AS last FROM "${g.schema}".events`);
              if (rows[0]!.n === 0 && r.after === rows[0]!.last) return;
            }
            await sleep(1);
          }
        }
      };
      const reading = readers.map(read);
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 20; i++) {
            const org = await engine.createOrganization({ name: `W${w}`, ownerId: `owner-${w}` });
            await engine.addMembers({ actorId: `owner-${w}`, orgId: org.id, members: [{ userId: `a${i}`, role: "texter" }, { userId: `b${i}`, role: "admin" }] });
          }
        }),
      );
      writing = false;
      await Promise.all(reading);
      const { rows } = await g.pool.query<{ seq: number }>(`SELECT seq::int AS seq FROM "${g.schema}".events ORDER BY seq`);
      const all = rows.map((r) => r.seq);
      expect(all).toHaveLength(8 * 20 * 4); // each organization: created, its owner and two members added
      expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1)); // no gaps, no duplicates
      for (const r of readers) expect(r.seen).toEqual(all); // each one, once, in order: never a position below one already seen
    } finally {
      await g.close();
    }
  }, 60_000);

  /** Two app servers on one schema, an organization, and a watcher on the first with a 10 s poll: only a notification wakes it sooner. */
  async function pushed(name: string) {
    const here = server(f, pools);
    const there = server(f, pools);
    const org = await there.engine.createOrganization({ name, ownerId: "owner" });
    const watcher = watch(here.engine, { orgId: org.id, pollMs: 10_000 });
    /** A write on the other server; resolves with how long the watcher took to yield it. */
    const delivery = async (userId: string) => {
      const start = Date.now();
      await there.engine.addMember({ actorId: "owner", orgId: org.id, userId, role: "texter" });
      const { event, at } = await until("the event", async () => watcher.seen.find((s) => (s.event.data as { userId?: string }).userId === userId), 3000);
      expect(event.type).toBe("organization.member_added");
      return at - start;
    };
    return { here, watcher, delivery };
  }

  it("Events: watchEvents wakes on NOTIFY from another app server long before its pollMs", async () => {
    const { here, watcher, delivery } = await pushed("Push");
    try {
      await until("the LISTEN connection", async () => ((await listeners(f.pool, here.appName)).length === 1 ? true : undefined));
      await sleep(100);
      expect(await delivery("m1")).toBeLessThan(1000);
      expect(watcher.seen).toHaveLength(1);
    } finally {
      await watcher.stop();
    }
    // The last watcher stopped: the LISTEN connection goes back to the pool, no longer listening.
    await until("the LISTEN connection to be released", async () => ((await listeners(f.pool, here.appName)).length === 0 ? true : undefined), 3000);
  });

  it("Events: with listen: false nothing LISTENs; this process's own commits wake a watcher at once, another server's arrive by polling", async () => {
    const here = server(f, pools, { listen: false });
    const there = server(f, pools);
    const org = await here.engine.createOrganization({ name: "Poll", ownerId: "owner" });
    const local = watch(here.engine, { orgId: org.id, pollMs: 10_000 });
    const polled = watch(here.engine, { orgId: org.id, pollMs: 300 });
    try {
      await sleep(200);
      let start = Date.now();
      await here.engine.addMember({ actorId: "owner", orgId: org.id, userId: "m1", role: "texter" });
      await until("the local event", async () => (local.seen.length > 0 ? true : undefined), 3000);
      expect(local.seen[0]!.at - start).toBeLessThan(1000);
      expect(await listeners(f.pool, here.appName)).toEqual([]);
      start = Date.now();
      await there.engine.addMember({ actorId: "owner", orgId: org.id, userId: "m2", role: "texter" });
      await until("the polled event", async () => (polled.seen.length === 2 ? true : undefined), 5000);
      expect(polled.seen.map((s) => s.event.data)).toEqual([
        { userId: "m1", role: "texter" },
        { userId: "m2", role: "texter" },
      ]);
    } finally {
      await Promise.all([local.stop(), polled.stop()]);
    }
  });

  it("Events: killing the LISTEN connection's backend crashes nothing; the adapter listens again and delivery resumes", async () => {
    // An `error` nobody listens for would escape from the socket's callback: record anything that does.
    const escaped: unknown[] = [];
    const record = (error: unknown) => void escaped.push(error);
    process.on("uncaughtException", record);
    process.on("unhandledRejection", record);
    const { here, watcher, delivery } = await pushed("Kill");
    try {
      const [first] = await until("the LISTEN connection", async () => {
        const pids = await listeners(f.pool, here.appName);
        return pids.length === 1 ? pids : undefined;
      });
      await f.pool.query("SELECT pg_terminate_backend($1)", [first]);
      await until("a new LISTEN connection", async () => {
        const pids = await listeners(f.pool, here.appName);
        return pids.length === 1 && pids[0] !== first ? pids : undefined;
      });
      await sleep(100);
      expect(await delivery("m1")).toBeLessThan(1000);
      expect(escaped).toEqual([]);
    } finally {
      await watcher.stop();
      process.off("uncaughtException", record);
      process.off("unhandledRejection", record);
    }
  });
});

describe("shared transactions on PostgreSQL (storage.withClient)", () => {
  let f: Fixture;
  let engine: Engine;
  let campaignId: string;
  let conversations: string[];
  const pools: pg.Pool[] = [];

  beforeAll(async () => {
    f = await postgresFixture();
    await f.pool.query(`CREATE TABLE "${f.schema}".host_log (id serial PRIMARY KEY, note text NOT NULL)`);
    // A fault the test can switch on inside a host transaction: a status-change fact fails to insert.
    await f.pool.query(`CREATE FUNCTION "${f.schema}".fail_if_asked() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('test.fail', true) = 'on' THEN RAISE EXCEPTION 'injected fault'; END IF;
        RETURN NEW;
      END $$`);
    await f.pool.query(`CREATE TRIGGER fail_if_asked BEFORE INSERT ON "${f.schema}".events FOR EACH ROW EXECUTE FUNCTION "${f.schema}".fail_if_asked()`);
    engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const org = await engine.createOrganization({ name: "Host", ownerId: "admin" });
    await engine.addMember({ actorId: "admin", orgId: org.id, userId: "t1", role: "texter" });
    const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Shared" });
    campaignId = campaign.id;
    await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: 10 }, (_, i) => ({ contactId: `c${i}` })) });
    await engine.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize: 10, gate: "none" });
    await engine.launchCampaign({ actorId: "admin", campaignId });
    await engine.addSenders({ actorId: "admin", campaignId, userIds: ["t1"] });
    const r = await engine.requestConversations({ campaignId, texterId: "t1" });
    conversations = r.ok ? r.conversations.map((c) => c.id) : [];
    expect(conversations).toHaveLength(10);
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await f.close();
  });

  const status = async (id: string) => (await engine.getConversation(id)).status;
  const hostRows = async (note: string) => (await f.pool.query(`SELECT 1 FROM "${f.schema}".host_log WHERE note = $1`, [note])).rowCount;
  const factsOf = async (id: string) =>
    (await f.pool.query(`SELECT 1 FROM "${f.schema}".events WHERE data->>'conversationId' = $1`, [id])).rowCount;

  /** Record an initial send and the host's own row in one host transaction, then COMMIT or ROLLBACK. */
  async function sendInTransaction(conversationId: string, end: "COMMIT" | "ROLLBACK"): Promise<void> {
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      const shared = createEngine({ storage: f.storage.withClient(client) });
      const [outcome] = await shared.recordMessages({ campaignId, messages: [{ conversationId, event: "initial_sent" }] });
      expect(outcome?.result).toBe("recorded");
      await client.query(`INSERT INTO "${f.schema}".host_log (note) VALUES ($1)`, [conversationId]);
      // Inside the transaction the engine sees its own change; outside, nobody does yet.
      expect((await shared.getConversation(conversationId)).status).toBe("initial_sent");
      expect(await status(conversationId)).toBe("not_started");
      await client.query(end);
    } finally {
      client.release();
    }
  }

  it("I8: the host rolls back — the engine's change and its facts are gone, and so is the host's row", async () => {
    const id = conversations[0]!;
    await sendInTransaction(id, "ROLLBACK");
    expect(await status(id)).toBe("not_started");
    expect(await factsOf(id)).toBe(0);
    expect(await hostRows(id)).toBe(0);
  });

  it("I8: the host commits — the engine's change, its facts and the host's row are there together, and watchers hear of it", async () => {
    const id = conversations[1]!;
    const watcher = watch(server(f, pools).engine, { campaignId, pollMs: 10_000 });
    try {
      await sleep(300); // the watcher LISTENs
      await sendInTransaction(id, "COMMIT");
      const start = Date.now();
      expect(await status(id)).toBe("initial_sent");
      expect(await factsOf(id)).toBe(1);
      expect(await hostRows(id)).toBe(1);
      await until("the event", async () => (watcher.seen.length > 0 ? true : undefined), 3000);
      expect(watcher.seen[0]!.at - start).toBeLessThan(1000); // notified at COMMIT, not found by polling
      expect(watcher.seen.map((s) => s.event)).toMatchObject([{ type: "conversation.status_changed", data: { conversationId: id, to: "initial_sent" } }]);
    } finally {
      await watcher.stop();
    }
  });

  it("I8: a fault inside the engine's step rolls back to its savepoint; the host's transaction goes on and commits its own rows", async () => {
    const id = conversations[2]!;
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`INSERT INTO "${f.schema}".host_log (note) VALUES ('before ' || $1)`, [id]);
      const shared = createEngine({ storage: f.storage.withClient(client) });
      await client.query("SET LOCAL test.fail = 'on'");
      const failed = await shared.recordMessages({ campaignId, messages: [{ conversationId: id, event: "initial_sent" }] }).catch((e: unknown) => e);
      expect(isAssignmentError(failed, "STORAGE_ERROR")).toBe(true);
      await client.query("SET LOCAL test.fail = 'off'");
      // The transaction is usable: the step's change is undone, the host's earlier row is still there.
      expect((await shared.getConversation(id)).status).toBe("not_started");
      await client.query(`INSERT INTO "${f.schema}".host_log (note) VALUES ('after ' || $1)`, [id]);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    expect(await status(id)).toBe("not_started");
    expect(await factsOf(id)).toBe(0);
    expect(await hostRows(`before ${id}`)).toBe(1);
    expect(await hostRows(`after ${id}`)).toBe(1);
  });

  it("I8: a lock wait inside the host's transaction is bounded by lockTimeoutMs (TIMEOUT, nothing changed) and the host's own lock_timeout comes back", async () => {
    const quick = createPostgresStorage({ pool: f.pool, schema: f.schema, lockTimeoutMs: 200 });
    const id = conversations[3]!;
    const blocker = await f.pool.connect();
    const client = await f.pool.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [campaignId]); // a campaign commit in flight
      await client.query("BEGIN");
      await client.query("SET LOCAL lock_timeout = '7s'");
      const shared = createEngine({ storage: quick.withClient(client) });
      const failed = await shared.recordMessages({ campaignId, messages: [{ conversationId: id, event: "initial_sent" }] }).catch((e: unknown) => e);
      expect(isAssignmentError(failed, "TIMEOUT")).toBe(true);
      expect((await client.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0]!.lock_timeout).toBe("7s");
      await blocker.query("COMMIT");
      // The same transaction goes on: the step again, now without a wait.
      const [outcome] = await shared.recordMessages({ campaignId, messages: [{ conversationId: id, event: "initial_sent" }] });
      expect(outcome?.result).toBe("recorded");
      expect((await client.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0]!.lock_timeout).toBe("7s");
      await client.query("COMMIT");
    } finally {
      await blocker.query("ROLLBACK").catch(() => undefined);
      blocker.release();
      client.release();
    }
    expect(await status(id)).toBe("initial_sent");
  });
});

describe("queued claims on PostgreSQL", () => {
  it("S3: a claim still waiting in the queue when its signal aborts leaves it with ABORTED and changes nothing; the depth is published while subscribed", async () => {
    const f = await postgresFixture({ maxConcurrentClaims: 1 });
    const depth: { schema: string; waiting: number; active: number }[] = [];
    const onDepth = (message: unknown) => depth.push(message as (typeof depth)[number]);
    subscribe(CHANNELS.claimQueue, onDepth);
    const blocker = await f.pool.connect();
    try {
      const engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
      const org = await engine.createOrganization({ name: "Queue", ownerId: "admin" });
      await engine.addMembers({ actorId: "admin", orgId: org.id, members: [{ userId: "t1", role: "texter" }, { userId: "t2", role: "texter" }] });
      const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Queue" });
      await engine.importContacts({ actorId: "admin", campaignId: campaign.id, contacts: Array.from({ length: 10 }, (_, i) => ({ contactId: `c${i}` })) });
      await engine.updateCampaignSettings({ actorId: "admin", campaignId: campaign.id, enabled: true, batchSize: 3, gate: "none" });
      await engine.launchCampaign({ actorId: "admin", campaignId: campaign.id });
      await engine.addSenders({ actorId: "admin", campaignId: campaign.id, userIds: ["t1", "t2"] });
      // A campaign commit in flight: the first claim waits for it inside PostgreSQL, holding the only slot.
      await blocker.query("BEGIN");
      await blocker.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [campaign.id]);
      const first = engine.requestConversations({ campaignId: campaign.id, texterId: "t1" });
      await until("the first claim to run", async () => (depth.some((d) => d.active === 1) ? true : undefined));
      const controller = new AbortController();
      const second = engine.requestConversations({ campaignId: campaign.id, texterId: "t2", signal: controller.signal }).catch((e: unknown) => e);
      await until("the second claim to queue", async () => (depth.some((d) => d.waiting === 1 && d.active === 1) ? true : undefined));
      controller.abort();
      expect(isAssignmentError(await within(1000, second), "ABORTED")).toBe(true);
      expect(depth.at(-1)).toEqual({ schema: f.schema, waiting: 0, active: 1 });
      await blocker.query("COMMIT");
      expect(await first).toMatchObject({ ok: true });
      const held = (await f.inspect(campaign.id)).filter((c) => c.holder !== null);
      expect(held.map((c) => c.holder)).toEqual(["t1", "t1", "t1"]);
      expect(depth.at(-1)).toEqual({ schema: f.schema, waiting: 0, active: 0 });
      // An already aborted signal never queues.
      expect(isAssignmentError(await engine.requestConversations({ campaignId: campaign.id, texterId: "t2", signal: AbortSignal.abort() }).catch((e: unknown) => e), "ABORTED")).toBe(true);
      expect((await f.inspect(campaign.id)).filter((c) => c.holder === "t2")).toEqual([]);
    } finally {
      unsubscribe(CHANNELS.claimQueue, onDepth);
      await blocker.query("ROLLBACK").catch(() => undefined);
      blocker.release();
      await f.close();
    }
  });
});

describe("facts stored compactly on PostgreSQL", () => {
  it("Events: a fact's conversationIds of its own campaign are stored as seqs and read back exactly, keys in place; anything else is stored as written", () => {
    const id = fc.string({ minLength: 1, maxLength: 12 });
    const seqText = fc.oneof(fc.nat({ max: 2 ** 40 }).map(String), fc.constantFrom("01", "-1", "1.0", "1e3", "", " 1", "9007199254740993"));
    fc.assert(
      fc.property(fc.option(id, { nil: null }), id, fc.array(fc.tuple(fc.boolean(), seqText), { maxLength: 8 }), fc.boolean(), (campaignId, other, parts, withSeqsKey) => {
        const ids = parts.map(([own, seq]) => `${own && campaignId !== null ? campaignId : other}:${seq}`);
        const data: Record<string, unknown> = { texterId: "t", conversationIds: ids, reason: "request", ...(withSeqsKey ? { conversationSeqs: [1] } : {}) };
        const stored = JSON.parse(JSON.stringify(packIds(campaignId, data))) as Record<string, unknown>;
        expect(JSON.stringify(unpackIds(campaignId, stored))).toBe(JSON.stringify(data)); // same values, same key order
        const canonical = campaignId !== null && !withSeqsKey && ids.every((x) => x.startsWith(`${campaignId}:`) && /^(0|[1-9][0-9]{0,14})$/.test(x.slice(campaignId.length + 1)));
        expect("conversationSeqs" in stored && !("conversationIds" in stored)).toBe(canonical);
      }),
      { numRuns: numRuns(500) },
    );
  });

  it("Events: a claim's fact is stored with seqs (a quarter of the size) and read back with the ids the claim returned", async () => {
    const f = await postgresFixture();
    try {
      const engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
      const org = await engine.createOrganization({ name: "Compact", ownerId: "admin" });
      await engine.addMember({ actorId: "admin", orgId: org.id, userId: "t1", role: "texter" });
      const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Compact" });
      await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: 50 }, (_, i) => ({ contactId: `k${i}` })) });
      await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 40 });
      await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
      await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: ["t1"] });
      const r = await engine.requestConversations({ campaignId: c.id, texterId: "t1" });
      if (!r.ok) throw new Error(r.reason);
      const assigned = (await engine.readEvents({ campaignId: c.id, types: ["conversations.assigned"], limit: 10 })).at(-1);
      expect(assigned?.type === "conversations.assigned" && assigned.data.conversationIds).toEqual(r.conversations.map((x) => x.id));
      const { rows } = await f.pool.query<{ data: Record<string, unknown> }>(
        `SELECT data FROM "${f.schema}".events WHERE campaign_id = $1 AND type = 'conversations.assigned' ORDER BY id DESC LIMIT 1`,
        [c.id],
      );
      expect(rows[0]!.data.conversationSeqs).toEqual(r.conversations.map((x) => Number(x.id.slice(c.id.length + 1))));
      expect(rows[0]!.data.conversationIds).toBeUndefined();
    } finally {
      await f.close();
    }
  });
});

/**
 * PostgreSQL faults from outside: backends that die under the adapter, and hostile arguments to its
 * public methods.
 *
 * The pool here is set up exactly as docs/postgres.md shows — a plain `pg.Pool`, and NO `error`
 * listener anywhere (not on the pool, not on any client). A dying backend must fail the one call in
 * flight with STORAGE_ERROR and must never crash the process: an EventEmitter `error` with no listener
 * would throw out of the socket callback, which vitest reports as an unhandled error (failing the
 * run) and which this file also records and asserts on.
 */
import { EventEmitter } from "node:events";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { createEngine, type Engine, isAssignmentError } from "../src/index.js";
import { createPostgresStorage, type PgClientLike, type PgPoolLike, type PostgresStorage } from "../src/postgres.js";
import { deferToCommit } from "../src/postgres/sql/batch.js";
import { CommitOutcomeUnknown, transaction } from "../src/postgres/sql/transaction.js";
import { KnownZones, fastClaim } from "../src/postgres/sql/fast-claim.js";
import { PreparedStatements } from "../src/postgres/sql/prepared.js";
import type { ClaimRequest } from "../src/storage/pool.js";
import { manualClock, uniqueId } from "./helpers.js";

/** Errors that escaped to the process (in a host without vitest, each would have killed it). */
const escaped: unknown[] = [];
const onEscape = (error: unknown) => {
  escaped.push(error);
};

beforeAll(() => {
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
});
afterAll(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("a PostgreSQL backend that dies under the adapter (plain pg.Pool, no error listener anywhere)", () => {
  const url = inject("databaseUrl");
  const schema = `faults_${process.pid}_${Date.now().toString(36)}`;
  const appName = uniqueId("faults").replaceAll("-", "_");
  let pool: pg.Pool;
  let admin: pg.Client;
  let storage: PostgresStorage;
  let engine: Engine;
  let campaignId: string;
  let releasedWithError = 0;

  beforeAll(async () => {
    // Exactly as docs/postgres.md shows (plus an application_name, so this test can find its backends).
    pool = new pg.Pool({ connectionString: url, max: 4, application_name: appName });
    pool.on("release", (error: Error | undefined) => {
      if (error) releasedWithError++;
    });
    storage = createPostgresStorage({ pool, schema });
    await storage.migrate();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();

    const clock = manualClock();
    engine = createEngine({ storage, clock: clock.now, generateId: (kind) => uniqueId(kind) });
    const org = await engine.createOrganization({ name: "Faults", ownerId: "admin" });
    await engine.addMember({ actorId: "admin", orgId: org.id, userId: "texter", role: "texter" });
    const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Faults" });
    campaignId = campaign.id;
    await engine.importContacts({
      actorId: "admin",
      campaignId,
      contacts: Array.from({ length: 200 }, (_, i) => ({ contactId: `c${i}` })),
    });
    await engine.updateCampaignSettings({
      actorId: "admin",
      campaignId,
      enabled: true,
      batchSize: 5,
      gate: "none",
      textingHoursStart: "00:00",
      textingHoursEnd: "24:00",
    });
    await engine.launchCampaign({ actorId: "admin", campaignId });
    await engine.addSenders({ actorId: "admin", campaignId, userIds: ["texter"] });
  });

  afterAll(async () => {
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await pool?.end().catch(() => undefined);
  });

  afterEach(() => {
    expect(escaped.splice(0), "errors escaped to the process (each would crash a host)").toEqual([]);
  });

  /** Terminate this pool's idle backends; resolves once the pool has dropped them. */
  async function killIdle(): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle'`,
      [appName],
    );
    const killed = rows[0]!.n;
    await until("the pool to drop its dead idle clients", async () => (pool.idleCount === 0 ? true : undefined));
    return killed;
  }

  it("a claim whose backend is terminated while it waits for a lock fails with STORAGE_ERROR; the process and the pool live on", async () => {
    for (let round = 0; round < 4; round++) {
      const errorsBefore = releasedWithError;
      // Another connection holds the campaign's exclusive lock (as a pause does), so the texter's claim waits on it.
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      await locker.query("BEGIN");
      await locker.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [campaignId]);

      const request = engine.requestConversations({ campaignId, texterId: "texter" }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      const pid = await until("the claim to wait on the campaign lock", async () => {
        const { rows } = await admin.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = $1`,
          [appName],
        );
        return rows[0]?.pid;
      });
      const { rows: killed } = await admin.query<{ ok: boolean }>("SELECT pg_terminate_backend($1) AS ok", [pid]);
      expect(killed[0]!.ok).toBe(true);

      const settled = await request;
      expect("error" in settled, `round ${round}: the request did not fail`).toBe(true);
      const error = (settled as { error: unknown }).error;
      expect(isAssignmentError(error, "STORAGE_ERROR"), `round ${round}: ${String(error)}`).toBe(true);
      if (isAssignmentError(error)) {
        expect(error.details.method).toBe("claim");
        expect(["not_applied", "unknown"]).toContain(error.details.outcome);
      }
      // The dead connection was destroyed, not handed back to the pool as healthy.
      expect(releasedWithError).toBeGreaterThan(errorsBefore);

      await locker.query("ROLLBACK");
      await locker.end();
      // Late socket events of the dead connection arrive after the call failed: give them time.
      await sleep(100);
      expect(escaped).toEqual([]);

      // The pool recovered: the same texter gets a batch.
      const next = await engine.requestConversations({ campaignId, texterId: "texter" });
      expect(next.ok).toBe(true);
      if (next.ok) expect(next.conversations).toHaveLength(5);

      // Idle pooled connections whose backends die do not crash anything either (pg emits `error`
      // on the pool for them).
      await Promise.all(Array.from({ length: 4 }, () => pool.query("SELECT pg_sleep(0.02)")));
      expect(await killIdle()).toBeGreaterThan(0);
      await sleep(100);
      expect(escaped).toEqual([]);
      const after = await engine.requestConversations({ campaignId, texterId: "texter" });
      expect(after.ok).toBe(true);
    }
  });

  it("a transaction whose backend dies between statements rejects, destroys the client, and the pool lives on", async () => {
    for (let round = 0; round < 3; round++) {
      const errorsBefore = releasedWithError;
      let pid = 0;
      const outcome = await transaction(pool as PgPoolLike, async (client: PgClientLike) => {
        const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        pid = rows[0]!.pid;
        // The backend dies while the adapter holds the client between two statements.
        await admin.query("SELECT pg_terminate_backend($1)", [pid]);
        await sleep(100);
        await client.query("SELECT 1");
        return "committed";
      }).then(
        () => "resolved",
        (error: unknown) => (error instanceof Error ? "rejected" : "rejected with a non-error"),
      );
      expect(outcome).toBe("rejected");
      expect(releasedWithError).toBeGreaterThan(errorsBefore);
      await sleep(50);
      expect(escaped).toEqual([]);
      const next = await engine.requestConversations({ campaignId, texterId: "texter" });
      expect(next.ok).toBe(true);
    }
  });

  it("I8: a statement deferred to COMMIT that fails is an ordinary failure (not an unknown outcome), and nothing of the transaction stays", async () => {
    await pool.query(`CREATE TABLE IF NOT EXISTS "${schema}".deferred_probe (v text)`);
    const attempt = transaction(pool as PgPoolLike, async (client: PgClientLike) => {
      await client.query(`INSERT INTO "${schema}".deferred_probe VALUES ('written')`);
      await deferToCommit(client, "SELECT 1 / 0"); // fails when it reaches the server, with COMMIT
      return "committed";
    });
    await expect(attempt).rejects.toMatchObject({ code: "22012" }); // division_by_zero, not CommitOutcomeUnknown
    await expect(attempt).rejects.not.toBeInstanceOf(CommitOutcomeUnknown);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".deferred_probe`)).rows[0].n).toBe(0);
    // The deferred statement runs before COMMIT, in the same transaction, when it succeeds.
    await transaction(pool as PgPoolLike, async (client: PgClientLike) => {
      await client.query(`INSERT INTO "${schema}".deferred_probe VALUES ('first')`);
      await deferToCommit(client, `INSERT INTO "${schema}".deferred_probe VALUES ('deferred')`);
      return "ok";
    });
    expect((await pool.query(`SELECT v FROM "${schema}".deferred_probe ORDER BY v`)).rows.map((r) => r.v)).toEqual(["deferred", "first"]);
  });

  it("readFacts refuses hostile and malformed arguments and never runs them as SQL", async () => {
    await expect(storage.readFacts({ after: 0, limit: "1; DROP TABLE x" as never })).rejects.toThrow(TypeError);
    await expect(storage.readFacts({ after: 0, limit: `1; DROP SCHEMA "${schema}" CASCADE` as never })).rejects.toThrow(TypeError);
    await expect(storage.readFacts({ after: "0; DROP TABLE x" as never, limit: 10 })).rejects.toThrow(TypeError);
    // One statement, no semicolon: an inlined limit would run this subquery (sequences are not
    // transactional, so a call would show even if the statement failed afterwards).
    await admin.query(`CREATE SEQUENCE "${schema}".probe`);
    const probe = `(SELECT nextval('"${schema}".probe'))`;
    await expect(storage.readFacts({ after: 0, limit: probe as never })).rejects.toThrow(TypeError);
    await expect(storage.readFacts({ after: probe as never, limit: 10 })).rejects.toThrow(TypeError);
    const { rows: calls } = await admin.query<{ is_called: boolean }>(`SELECT is_called FROM "${schema}".probe`);
    expect(calls[0]!.is_called, "the injected subquery ran").toBe(false);
    for (const bad of [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, 100_001]) {
      await expect(storage.readFacts({ after: 0, limit: bad }), `limit ${bad}`).rejects.toThrow(RangeError);
    }
    for (const bad of [-1, Number.NaN, 0.5, Number.POSITIVE_INFINITY]) {
      await expect(storage.readFacts({ after: bad, limit: 10 }), `after ${bad}`).rejects.toThrow(RangeError);
    }
    // Filters are data: sent as parameters, never spliced into the statement.
    expect(await storage.readFacts({ after: 0, limit: 10, orgId: `x' OR '1'='1` })).toEqual([]);
    expect(await storage.readFacts({ after: 0, limit: 10, campaignId: `${probe}` })).toEqual([]);
    expect(await storage.readFacts({ after: 0, limit: 10, types: [`campaign.created'); DROP SCHEMA "${schema}" CASCADE; --` as never] })).toEqual([]);
    const { rows: after } = await admin.query<{ is_called: boolean }>(`SELECT is_called FROM "${schema}".probe`);
    expect(after[0]!.is_called, "the injected subquery ran").toBe(false);
    // The schema is intact and reading still works.
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'events'",
      [schema],
    );
    expect(rows[0]!.n).toBe(1);
    const events = await storage.readFacts({ after: 0, limit: 3 });
    expect(events).toHaveLength(3);
    expect(await storage.readFacts({ after: 0, limit: 0 })).toEqual([]);
    expect((await storage.readFacts({ after: events[2]!.seq, limit: 1 }))[0]!.seq).toBeGreaterThan(events[2]!.seq);
    // Through the engine the same bad values are refused as INVALID_INPUT, as before.
    await expect(engine.readEvents({ after: 0, limit: "1; DROP TABLE x" as never })).rejects.toSatisfy((e) => isAssignmentError(e, "INVALID_INPUT"));
  });
});

/** A request the one-round-trip claim takes (no key, not a join), for the fakes below. */
const FAST_REQUEST: ClaimRequest = {
  campaignId: "c",
  texterId: "t",
  expectedVersion: 1,
  join: null,
  limit: 5,
  maxHeld: null,
  gate: { maxNotStarted: null, maxNeedsReply: null },
  ranks: [0, 1, 2],
  contactZones: null,
  idempotencyKey: null,
  now: 1,
  context: { at: 1, orgId: "o", campaignId: "c", actorId: "t", actorType: "user" },
};

/** A client as pg's: an EventEmitter with query() and release(). */
class FakeClient extends EventEmitter {
  broken: Error | null = null;
  released: (Error | boolean | undefined)[] = [];
  async query() {
    if (this.broken !== null) throw new Error("Client has encountered a connection error and is not queryable");
    return { rows: [], rowCount: 0 };
  }
  release(destroy?: Error | boolean) {
    this.released.push(destroy);
  }
  /** What pg does when the socket dies: the client emits `error` (and throws if nobody listens). */
  die(error: Error) {
    this.broken = error;
    this.emit("error", error);
  }
}

class FakePool extends EventEmitter {
  constructor(readonly client: FakeClient) {
    super();
  }
  async connect() {
    return this.client;
  }
  async query() {
    return { rows: [], rowCount: 0 };
  }
}

describe("error listeners on checked-out clients and on the pool (fakes)", () => {
  it("a checked-out client has exactly one error listener while the adapter holds it, none after a healthy release", async () => {
    const client = new FakeClient();
    const pool = new FakePool(client);
    const during: number[] = [];
    await transaction(pool, async (c) => {
      during.push(client.listenerCount("error"));
      await c.query("SELECT 1");
      during.push(client.listenerCount("error"));
      return null;
    });
    expect(during).toEqual([1, 1]);
    expect(client.listenerCount("error")).toBe(0);
    expect(client.released).toEqual([undefined]);
  });

  it("a client whose connection fails while held is released with that error (destroyed), and the emit does not throw", async () => {
    const client = new FakeClient();
    const pool = new FakePool(client);
    const died = new Error("Connection terminated unexpectedly");
    const outcome = transaction(pool, async (c) => {
      await c.query("SELECT 1");
      client.die(died); // would throw here without a listener
      await c.query("SELECT 2");
      return "not reached";
    });
    await expect(outcome).rejects.toThrow(/not queryable/);
    expect(client.released).toEqual([died]);
    expect(client.listenerCount("error")).toBe(0);
  });

  it("a connection that fails after COMMIT succeeded is still destroyed, not returned to the pool", async () => {
    const client = new FakeClient();
    const pool = new FakePool(client);
    const died = new Error("read ECONNRESET");
    const original = client.query.bind(client);
    client.query = async (...args: unknown[]) => {
      const result = await original();
      if (args[0] === "COMMIT") client.emit("error", died); // the socket fails right after COMMIT's reply
      return result;
    };
    expect(await transaction(pool, async (c) => (await c.query("SELECT 1"), "ok"))).toBe("ok");
    expect(client.released).toEqual([died]);
    expect(client.listenerCount("error")).toBe(0);
  });

  it("I8: an error a proxy makes up while the facts and COMMIT are in flight leaves the outcome unknown; a server's statement error does not", async () => {
    // PgBouncer before 1.16 answered a dead server with an ERROR 08P01 of its own (no `routine`): the
    // server may have committed. A statement error from the server names its routine.
    const cases = [
      { error: Object.assign(new Error("server conn crashed?"), { severity: "ERROR", code: "08P01" }), unknown: true },
      { error: Object.assign(new Error("terminating connection"), { severity: "FATAL", code: "57P01", routine: "ProcessInterrupts" }), unknown: true },
      { error: Object.assign(new Error("division by zero"), { severity: "FEHLER", code: "22012", routine: "int4div" }), unknown: false },
    ];
    for (const { error, unknown } of cases) {
      const client = new FakeClient();
      const original = client.query.bind(client);
      client.query = async (...args: unknown[]) => {
        if (typeof args[0] === "string" && args[0].endsWith("COMMIT")) throw error;
        return original();
      };
      const attempt = transaction(new FakePool(client), async (c) => {
        await c.query("SELECT 1");
        await deferToCommit(c, "SELECT 'deferred'");
        return "ok";
      });
      if (unknown) await expect(attempt).rejects.toBeInstanceOf(CommitOutcomeUnknown);
      else await expect(attempt).rejects.toBe(error);
      // An unknown outcome destroys the connection; a known failure rolls back and returns it.
      expect(client.released).toEqual([unknown ? error : undefined]);
    }
  });

  it("I8: a one-round-trip claim (BEGIN … COMMIT in one query): a lost connection or a proxy's error leaves the outcome unknown; a server's statement error rolls back", async () => {
    const cases = [
      { error: new Error("Connection terminated unexpectedly"), unknown: true },
      { error: Object.assign(new Error("server conn crashed?"), { severity: "ERROR", code: "08P01" }), unknown: true },
      { error: Object.assign(new Error("canceling statement due to lock timeout"), { severity: "ERROR", code: "55P03", routine: "ProcessInterrupts" }), unknown: false },
    ];
    for (const { error, unknown } of cases) {
      const client = new FakeClient();
      const sent: string[] = [];
      const original = client.query.bind(client);
      client.query = async (...args: unknown[]) => {
        sent.push(String(args[0]));
        if (String(args[0]).startsWith("BEGIN")) throw error;
        return original();
      };
      const attempt = fastClaim(new FakePool(client), '"s"', FAST_REQUEST, { lockTimeoutMs: 100 }, new KnownZones());
      if (unknown) await expect(attempt).rejects.toBeInstanceOf(CommitOutcomeUnknown);
      else await expect(attempt).rejects.toMatchObject({ code: "TIMEOUT" });
      // One query, ending with COMMIT; an unknown outcome destroys the connection, a known failure rolls back and returns it.
      expect(sent[0]).toMatch(/COMMIT$/);
      expect(sent.slice(1)).toEqual(unknown ? [] : ["ROLLBACK"]);
      expect(client.released).toEqual([unknown ? error : undefined]);
    }
    // A query answered with ROLLBACK for its COMMIT wrote nothing: a failure, not a success.
    const client = new FakeClient();
    client.query = async () => [{}, {}, {}, { rows: [{ ok: true, seq: null }], rowCount: 1 }, { rows: [], rowCount: 0, command: "ROLLBACK" }] as never;
    await expect(fastClaim(new FakePool(client), '"s"', FAST_REQUEST, { lockTimeoutMs: 100 }, new KnownZones())).rejects.toThrow(/answered with ROLLBACK/);
  });

  it("I8: a prepared one-round-trip claim whose DO block fails, or whose result type changed, changes nothing, runs the usual way, and is sent as text after", async () => {
    const serverError = (code: string, where?: string) => Object.assign(new Error("refused"), { severity: "ERROR", code, routine: "r", ...(where === undefined ? {} : { where }) });
    const cases = [
      { error: serverError("42601", "PL/pgSQL function inline_code_block line 5 at EXECUTE"), refused: true },
      { error: serverError("42501"), refused: true }, // permission denied for language plpgsql
      { error: serverError("0A000"), refused: true }, // cached plan must not change result type
      { error: serverError("55P03"), refused: false }, // a lock wait that ran out: TIMEOUT, as unprepared
    ];
    for (const { error, refused } of cases) {
      const client = new FakeClient();
      const sent: string[] = [];
      client.query = async (...args: unknown[]) => {
        sent.push(String(args[0]));
        if (String(args[0]).startsWith("BEGIN")) throw error;
        return { rows: [], rowCount: 0 };
      };
      const prepared = new PreparedStatements();
      const attempt = fastClaim(new FakePool(client), '"s"', FAST_REQUEST, { lockTimeoutMs: 100 }, new KnownZones(), prepared);
      if (refused) expect(await attempt).toBeNull(); // the usual claim runs
      else await expect(attempt).rejects.toMatchObject({ code: "TIMEOUT" });
      expect(sent[0]).toMatch(/\nDO \$sa_[a-z0-9]+\$BEGIN[\s\S]*PREPARE selfassign_[0-9a-f]{40}\(text, text, bigint/);
      expect(sent[0]).toMatch(/\nEXECUTE selfassign_[0-9a-f]{40}\(/);
      expect(sent.slice(1)).toEqual(["ROLLBACK"]); // nothing changed; the connection is returned
      expect(client.released).toEqual([undefined]);
      await expect(fastClaim(new FakePool(client), '"s"', FAST_REQUEST, { lockTimeoutMs: 100 }, new KnownZones(), prepared)).rejects.toThrow();
      if (refused) expect(sent[2]).not.toMatch(/EXECUTE selfassign_|\nDO /); // as text from then on
      else expect(sent[2]).toMatch(/\nDO [\s\S]*\nEXECUTE selfassign_/); // not known prepared: prepared again
    }
  });

  it("a COMMIT answered with ROLLBACK (the transaction was aborted) is a failure, not a success", async () => {
    const client = new FakeClient();
    const original = client.query.bind(client);
    client.query = async (...args: unknown[]) => (args[0] === "COMMIT" ? ({ rows: [], rowCount: 0, command: "ROLLBACK" } as Awaited<ReturnType<typeof original>>) : original());
    await expect(transaction(new FakePool(client), async (c) => (await c.query("SELECT 1"), "ok"))).rejects.toThrow(/answered with ROLLBACK/);
  });

  it("clients and pools without on/removeListener (simple fakes) still work", async () => {
    const released: unknown[] = [];
    const pool: PgPoolLike = {
      connect: async () => ({
        query: async () => ({ rows: [], rowCount: 0 }) as never,
        release: (destroy?: Error | boolean) => void released.push(destroy),
      }),
      query: async () => ({ rows: [], rowCount: 0 }) as never,
    };
    expect(await transaction(pool, async () => 7)).toBe(7);
    expect(released).toEqual([undefined]);
    expect(() => createPostgresStorage({ pool, schema: "fake" })).not.toThrow();
  });

  it("an idle pooled client's error emitted on the pool does not throw; the host's own listener still hears it; one listener per pool", () => {
    const pool = new FakePool(new FakeClient());
    expect(() => pool.emit("error", new Error("before"))).toThrow("before"); // what a bare pg.Pool does
    createPostgresStorage({ pool, schema: "fake" });
    createPostgresStorage({ pool, schema: "fake_two" });
    expect(pool.listenerCount("error")).toBe(1);
    expect(() => pool.emit("error", new Error("idle client died"))).not.toThrow();
    const heard: Error[] = [];
    pool.on("error", (e: Error) => heard.push(e));
    pool.emit("error", new Error("again"));
    expect(heard.map((e) => e.message)).toEqual(["again"]);
  });
});

/**
 * The PostgreSQL adapter through PgBouncer in transaction pooling mode (issue 14, part 4): the whole
 * PostgreSQL conformance group (`selfassign/testing`), migrations from several app servers at once,
 * a host's shared transaction (`withClient`) and event watching with `listen: false`, all through a
 * throwaway PgBouncer (tools/throwaway-pgbouncer.ts) whose server pool is SMALLER than each client
 * pool, so client connections really share server connections: anything that relied on session state
 * (session advisory locks, `SET` without `LOCAL`, named prepared statements, LISTEN, temporary
 * tables) would leak into another client's transactions or fail here.
 *
 * Needs the `pgbouncer` binary (`.ci/run` installs Debian's package). Without it this file FAILS
 * with instructions; set SELFASSIGN_SKIP_PGBOUNCER=1 to skip it on a machine that cannot have it.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createEngine } from "../src/index.js";
import { createPostgresStorage, type PostgresStorage } from "../src/postgres.js";
import { conformanceChecks } from "../src/testing.js";
import type { InspectedConversation } from "../src/testing/world.js";
import { inspectConversations } from "./support/postgres.js";
import { PGBOUNCER_HELP, findPgBouncer, startThrowawayPgBouncer } from "../tools/throwaway-pgbouncer.js";
import { numRuns } from "./numruns.js";

/** Server connections PgBouncer opens; every client pool below is larger (8), so clients take turns on them. */
const SERVER_POOL = 3;
const CLIENT_POOL = 8;

let available = true;
try {
  findPgBouncer();
} catch (error) {
  if (process.env.SELFASSIGN_SKIP_PGBOUNCER !== "1") {
    throw new Error(`${(error as Error).message}\n\n(To skip these tests on a machine without PgBouncer, set SELFASSIGN_SKIP_PGBOUNCER=1; CI never does.)`);
  }
  available = false;
  console.warn(`test/pgbouncer.test.ts SKIPPED because SELFASSIGN_SKIP_PGBOUNCER=1 and pgbouncer is missing.\n${PGBOUNCER_HELP}`);
}

const bouncer = available ? await startThrowawayPgBouncer(inject("databaseUrl"), { poolSize: SERVER_POOL }) : null;
afterAll(async () => {
  await bouncer?.stop();
});

let counter = 0;
const opened = new Set<pg.Pool>();

function poolThroughBouncer(max = CLIENT_POOL): pg.Pool {
  const pool = new pg.Pool({ connectionString: bouncer!.url, max });
  opened.add(pool);
  return pool;
}

async function endPool(pool: pg.Pool): Promise<void> {
  opened.delete(pool);
  await pool.end();
}

/** A fresh schema reached only through PgBouncer: the adapter with `listen: false`, as docs/scaling.md says to run it there. */
async function bouncerFixture(): Promise<{ pool: pg.Pool; schema: string; storage: PostgresStorage; inspect: (id: string) => Promise<InspectedConversation[]>; close: () => Promise<void> }> {
  const schema = `b_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const pool = poolThroughBouncer();
  const storage = createPostgresStorage({ pool, schema, listen: false });
  await storage.migrate();
  const inspect = inspectConversations(pool, schema);
  return {
    pool,
    schema,
    storage,
    inspect,
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await endPool(pool);
    },
  };
}

const checks = available
  ? await conformanceChecks({
      fixture: bouncerFixture,
      // Small counts (the full sizes run in test/conformance.test.ts): this file proves the same checks
      // hold with the connections multiplexed, and must stay well under two minutes.
      numRuns: { model: numRuns(25), races: numRuns(12) },
      rosters: { members: 40 },
    })
  : [];

describe.skipIf(!available)(`PostgreSQL through PgBouncer (transaction pooling, ${SERVER_POOL} server connections, client pools of ${CLIENT_POOL})`, () => {
  it("the set-up multiplexes: 8 client connections held at once run their transactions on at most 3 server backends", async () => {
    const pool = poolThroughBouncer(CLIENT_POOL);
    try {
      const clients = await Promise.all(Array.from({ length: CLIENT_POOL }, () => pool.connect()));
      const pids = new Set<number>();
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          clients.map(async (client) => {
            const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
            pids.add(rows[0]!.pid);
          }),
        );
      }
      for (const client of clients) client.release();
      expect(pids.size).toBeGreaterThan(0);
      expect(pids.size).toBeLessThanOrEqual(SERVER_POOL);
    } finally {
      await endPool(pool);
    }
  });

  for (const check of checks) it(`${check.group}: ${check.name}`, check.run, 300_000);

  it("migrations from four app servers at once through PgBouncer: one applies, the others find nothing to do", async () => {
    const schema = `bm_${process.pid}_${Date.now().toString(36)}`;
    const pools = Array.from({ length: 4 }, () => poolThroughBouncer(2));
    try {
      const results = await Promise.all(pools.map((pool) => createPostgresStorage({ pool, schema, listen: false }).migrate()));
      const applied = results.filter((r) => r.applied.length > 0);
      expect(applied).toHaveLength(1);
      expect(results.filter((r) => r.applied.length === 0)).toHaveLength(3);
    } finally {
      await pools[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(pools.map(endPool));
    }
  });

  it("S3, events: a host's transaction (withClient) through PgBouncer commits the claim with the host's own row, and a listen:false watcher on another app server sees its facts by polling", async () => {
    const f = await bouncerFixture();
    const other = poolThroughBouncer(2);
    const abort = new AbortController();
    try {
      const engine = createEngine({ storage: f.storage });
      const org = await engine.createOrganization({ name: "Bouncer", ownerId: "admin" });
      await engine.addMembers({ actorId: "admin", orgId: org.id, members: [{ userId: "t1", role: "texter" }] });
      const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Bouncer" });
      await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: 20 }, (_, i) => ({ contactId: `c${i}` })) });
      await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 5, textingHoursStart: "00:00", textingHoursEnd: "24:00" });
      await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
      await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: ["t1"] });
      const head = await engine.getEventHead();

      // Another app server watches, polling (no LISTEN behind PgBouncer).
      const watcher = createEngine({ storage: createPostgresStorage({ pool: other, schema: f.schema, listen: false }) });
      const seen: string[] = [];
      const watching = (async () => {
        for await (const e of watcher.watchEvents({ after: head, campaignId: c.id, pollMs: 100, signal: abort.signal })) {
          seen.push(e.type);
          if (e.type === "conversations.assigned") break;
        }
      })();

      // The host's transaction: its own row and the claim commit together.
      await f.pool.query(`CREATE TABLE "${f.schema}".host_log (note text)`);
      const client = await f.pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(`INSERT INTO "${f.schema}".host_log VALUES ('requested')`);
        const result = await createEngine({ storage: f.storage.withClient(client) }).requestConversations({ campaignId: c.id, texterId: "t1" });
        expect(result.ok && result.conversations.length).toBe(5);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      expect((await f.pool.query(`SELECT count(*)::int AS n FROM "${f.schema}".host_log`)).rows[0].n).toBe(1);
      expect((await f.inspect(c.id)).filter((r) => r.holder === "t1")).toHaveLength(5);
      await Promise.race([watching, new Promise((_, reject) => setTimeout(() => reject(new Error("the watcher did not see the claim within 10 s")), 10_000))]);
      expect(seen).toContain("conversations.assigned");
    } finally {
      abort.abort();
      await endPool(other);
      await f.close();
    }
  });
});

afterAll(async () => {
  await Promise.all([...opened].map((p) => p.end().catch(() => undefined)));
});

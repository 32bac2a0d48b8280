/**
 * What the PostgreSQL benchmark sections share: the server (DATABASE_URL, or a throwaway one), the
 * bench schema with one big campaign, the timed claim loop and resets.
 */
import pg from "pg";
import { createEngine, type Engine } from "../../src/index.js";
import { createPostgresStorage, type PostgresStorage } from "../../src/postgres.js";
import { startThrowawayPostgres } from "../../tools/throwaway-postgres.js";
import { knob, pct } from "./report.js";
import { sideBySide, timed } from "./side-by-side.js";

/** Batch size of every claim in the benchmark. */
export const BATCH = 300;
/** Connections in the app's pool (2–4x the cores, as docs/postgres.md recommends). */
export const POOL = 8;
/** The bench schema. */
export const SCHEMA = "bench";
/** Conversations in the big campaign (BENCH_CONTACTS). */
export const CONTACTS = knob("BENCH_CONTACTS", 1_000_000);
/** Rounds of every comparison (BENCH_ROUNDS). */
export const ROUNDS = knob("BENCH_ROUNDS", 3);
/** Requests per timed run (BENCH_PG_REQUESTS); the claims benchmark makes three times as many at 32 requesters. */
export const REQUESTS = knob("BENCH_PG_REQUESTS", 400);

/** Everything the sections share. */
export interface Bench {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly storage: PostgresStorage;
  readonly engine: Engine;
  readonly orgId: string;
  /** The big campaign: CONTACTS conversations, batch 300, gate none, hours all day, the texters as senders. */
  readonly campaignId: string;
  /** 64 texters, members and senders of the big campaign. */
  readonly texters: readonly string[];
  readonly postgresVersion: string;
  /** Open another pool on the same server (closed by `close`). */
  openPool(max: number): pg.Pool;
  close(): Promise<void>;
}

/** Import `size` contacts in chunks of 100,000; `contact(i)` makes each. */
export async function importContacts(engine: Engine, campaignId: string, size: number, contact: (i: number) => { contactId: string; timeZone?: string }, actorId = "admin") {
  for (let start = 0; start < size; start += 100_000) {
    const contacts = [];
    for (let i = start; i < Math.min(size, start + 100_000); i++) contacts.push(contact(i));
    await engine.importContacts({ actorId, campaignId, contacts });
  }
}

/**
 * A launched campaign, self assignment on with `settings`, then `senders` added (after the launch, so
 * nothing is split among them: C4, C5).
 */
export async function campaign(
  engine: Engine,
  orgId: string,
  title: string,
  size: number,
  senders: readonly string[],
  options: { batchSize?: number; contact?: (i: number) => { contactId: string; timeZone?: string }; timeZone?: string; allDay?: boolean } = {},
): Promise<string> {
  const c = await engine.createCampaign({ actorId: "admin", orgId, title });
  await importContacts(engine, c.id, size, options.contact ?? ((i) => ({ contactId: `${title}-${i}` })));
  await engine.updateCampaignSettings({
    actorId: "admin",
    campaignId: c.id,
    enabled: true,
    batchSize: options.batchSize ?? BATCH,
    gate: "none",
    ...(options.allDay === false ? {} : { textingHoursStart: "00:00", textingHoursEnd: "24:00" }),
    ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
  });
  await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
  for (let i = 0; i < senders.length; i += 10_000) await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: senders.slice(i, i + 10_000) });
  return c.id;
}

/** Start (or connect to) the server, create the bench schema and the big campaign. */
export async function openBench(): Promise<Bench> {
  const server = process.env.DATABASE_URL ? null : await startThrowawayPostgres();
  const url = process.env.DATABASE_URL ?? server!.url;
  const pools: pg.Pool[] = [];
  const openPool = (max: number) => {
    const p = new pg.Pool({ connectionString: url, max });
    p.on("error", () => undefined);
    pools.push(p);
    return p;
  };
  const pool = openPool(POOL);
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  const storage = createPostgresStorage({ pool, schema: SCHEMA });
  await storage.migrate();
  // No autovacuum on the bench tables: a campaign imported later must stay unanalyzed until the
  // benchmark analyzes it, and every timed run starts from the same state (resets VACUUM explicitly).
  for (const t of ["conversations", "campaign_contacts", "events"]) await pool.query(`ALTER TABLE ${SCHEMA}.${t} SET (autovacuum_enabled = false)`);
  const engine = createEngine({ storage });
  const texters = Array.from({ length: 64 }, (_, i) => `texter-${i}`);
  const org = await engine.createOrganization({ name: "Bench", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  const t0 = performance.now();
  const campaignId = await campaign(engine, org.id, "big", CONTACTS, texters);
  console.log(`imported ${CONTACTS.toLocaleString("en-US")} conversations in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await pool.query(`VACUUM ANALYZE ${SCHEMA}.conversations`);
  await pool.query(`VACUUM ANALYZE ${SCHEMA}.campaign_contacts`);
  const version = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v.split(" ")[0]!;
  return {
    url,
    pool,
    storage,
    engine,
    orgId: org.id,
    campaignId,
    texters,
    postgresVersion: version,
    openPool,
    async close() {
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      server?.stop();
    },
  };
}

/** Make every conversation of `campaignId` in `table` unassigned again, then VACUUM (never ANALYZE) the table. */
export async function unassign(pool: pg.Pool, table: string, campaignId: string): Promise<void> {
  await pool.query(`UPDATE ${SCHEMA}.${table} SET assignee = NULL, assigned_at = NULL WHERE campaign_id = $1 AND assignee IS NOT NULL`, [campaignId]);
  await pool.query(`VACUUM ${SCHEMA}.${table}`);
}

/** One timed run: what it measured. */
export interface Run {
  readonly mode: string;
  readonly requesters: number;
  readonly requests: number;
  readonly conversationsPerS: number;
  readonly p50: number;
  readonly p99: number;
  /** Mean conversations per request. */
  readonly meanBatch: number;
  /** Share of requests that got a full batch (BATCH). */
  readonly fullShare: number;
}

/** `requesters` loops issuing `requests` claims in all; `claim(texter)` returns how many it got. */
export async function timedRun(mode: string, claim: (texter: string) => Promise<number>, requesters: number, requests: number, texters: readonly string[], batch = BATCH): Promise<Run> {
  let issued = 0;
  const times: number[] = [];
  const sizes: number[] = [];
  const start = performance.now();
  await Promise.all(
    texters.slice(0, requesters).map(async (t) => {
      while (issued < requests) {
        issued++;
        const s = performance.now();
        const n = await claim(t);
        times.push(performance.now() - s);
        sizes.push(n);
      }
    }),
  );
  return runOf(mode, requesters, times, sizes, (performance.now() - start) / 1000, batch);
}

/** A run's figures from each request's time (ms) and size, over the run's `seconds`. */
export function runOf(mode: string, requesters: number, times: readonly number[], sizes: readonly number[], seconds: number, batch = BATCH): Run {
  const sorted = [...times].sort((a, b) => a - b);
  const claimed = sizes.reduce((a, b) => a + b, 0);
  return {
    mode,
    requesters,
    requests: sorted.length,
    conversationsPerS: claimed / seconds,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    meanBatch: claimed / Math.max(1, sizes.length),
    fullShare: sizes.filter((n) => n >= batch).length / Math.max(1, sizes.length),
  };
}

/**
 * One requester's runs of several modes side by side (`sideBySide`: request `i` of every mode, in the
 * modes' order, then the reverse), so a drift of the machine's speed falls on every mode alike. Each
 * mode must claim from its own table. A mode's throughput is what it claimed over the time its own
 * requests took.
 */
export async function alternatingRuns(modes: readonly (readonly [string, (texter: string) => Promise<number>])[], requests: number, texter: string, batch = BATCH): Promise<Run[]> {
  const sizes = modes.map((): number[] => []);
  const steps = modes.map(([, claim], k) => () => timed(async () => sizes[k]!.push(await claim(texter))));
  const samples = await sideBySide(steps, requests, 0);
  return modes.map(([mode], k) => {
    const times = samples[k]!.map((s) => s.end - s.start);
    return runOf(mode, 1, times, sizes[k]!, times.reduce((a, b) => a + b, 0) / 1000, batch);
  });
}

/** Log one run. */
export function logRun(round: number, r: Run): void {
  console.log(
    `round ${round}: ${r.mode.padEnd(34)} ${String(r.requesters).padStart(2)} req: ${Math.round(r.conversationsPerS).toLocaleString("en-US").padStart(8)} conv/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, mean batch ${r.meanBatch.toFixed(0)}`,
  );
}

/** Medians of runs of the same mode and requesters. */
export function medianRun(runs: readonly Run[]): Run {
  const m = (f: (r: Run) => number) => {
    const s = runs.map(f).sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return {
    mode: runs[0]!.mode,
    requesters: runs[0]!.requesters,
    requests: runs.reduce((n, r) => n + r.requests, 0),
    conversationsPerS: m((r) => r.conversationsPerS),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    meanBatch: m((r) => r.meanBatch),
    fullShare: m((r) => r.fullShare),
  };
}

/** An engine's claim, counting what it got. */
export function engineClaim(engine: Engine, campaignId: string): (texter: string) => Promise<number> {
  return async (texterId) => {
    const r = await engine.requestConversations({ campaignId, texterId });
    return r.ok ? r.conversations.length : 0;
  };
}

/** Another engine over a new pool and adapter on the same schema (another app server). */
export function otherServer(bench: Bench, poolSize: number, options: { clock?: () => number } = {}): { engine: Engine; pool: pg.Pool } {
  const pool = bench.openPool(poolSize);
  return { pool, engine: createEngine({ storage: createPostgresStorage({ pool, schema: SCHEMA }), ...(options.clock === undefined ? {} : { clock: options.clock }) }) };
}

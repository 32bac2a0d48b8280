/**
 * `npm run bench:scale` — issue 14, the 2,000-texter run: PostgreSQL and PgBouncer (transaction
 * pooling), 10,000,000 conversations in one campaign and 1,000,000 in a second, 8 app-server processes
 * (each an engine with its own small pool through PgBouncer) driving 2,000 simulated texters, an
 * admin acting at the peak; then checks in SQL and a report in bench/results/scale.json.
 *
 * Knobs (environment, see config.ts): SCALE_CONTACTS, SCALE_TEXTERS, SCALE_PROCESSES, SCALE_SECONDS,
 * SCALE_POOL, SCALE_BOUNCER_POOL, SCALE_SENDS … A smaller run writes its report to a temporary file
 * (printed) unless SCALE_OUT names one; the full-size run writes bench/results/scale.json.
 *
 * Everything it starts (PostgreSQL, PgBouncer, the workers) is stopped at the end, on failure and on
 * Ctrl-C. Uses DATABASE_URL when set (then it drops and re-creates the schema `scale` there).
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createEngine } from "../../src/index.js";
import { createPostgresStorage } from "../../src/postgres.js";
import { startThrowawayPgBouncer, type ThrowawayPgBouncer } from "../../tools/throwaway-pgbouncer.js";
import { runAdmin, type AdminRun } from "./admin.js";
import { type CampaignCheck, campaignOk, checkCampaign } from "./checks.js";
import { planTexters, readConfig } from "./config.js";
import { cpuBetween, sampleCpu } from "./proc.js";
import type { FromWorker, LedgerReport, ToWorker, WorkerStats } from "./protocol.js";
import { Monitor, bouncerStats, explainHot, lockWaits, logSize, serverSettings, startDatabase, tableStats, topStatements, type Database } from "./servers.js";
import { Histogram, mergeSeconds, rateOver } from "./stats.js";
import { machine, target } from "../lib/report.js";
import { writeDocs } from "../docs.js";
import { sharedReport } from "./report.js";

const here = dirname(fileURLToPath(import.meta.url));
const config = readConfig();
const log = (...args: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args);

const cleanups: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error("clean-up step failed:", error);
      }
    }
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping everything this run started …`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** The app-server processes and their messages. */
class Workers {
  readonly children: ChildProcess[] = [];
  private readonly waiting = new Map<string, { want: number; got: Map<number, FromWorker>; resolve: (m: FromWorker[]) => void }>();
  readonly progress = new Map<number, Record<string, number>>();
  readonly joinsDone = new Set<number>();
  failure: string | null = null;
  private onFailure: ((reason: string) => void) | null = null;

  spawn(n: number): void {
    for (let i = 0; i < n; i++) {
      // SCALE_WORKER_PROFILE=<dir>: a V8 CPU profile of every app server (open in Chrome DevTools).
      const profile = process.env.SCALE_WORKER_PROFILE;
      const execArgv = ["--import", "tsx", ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [])];
      const child = fork(join(here, "worker.ts"), [], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.on("message", (m: FromWorker) => this.receive(m));
      child.on("exit", (code) => {
        if (code !== 0 && code !== null && this.failure === null) this.fail(`worker ${i} exited with code ${code}`);
      });
      this.children.push(child);
    }
  }

  private fail(reason: string): void {
    this.failure = reason;
    this.onFailure?.(reason);
  }

  private receive(m: FromWorker): void {
    if (m.type === "failed") return this.fail(`worker ${m.index} failed: ${m.error}`);
    if (m.type === "joins_done") {
      this.joinsDone.add(m.index);
      return;
    }
    if (m.type === "progress") {
      this.progress.set(m.index, m.counts);
      return;
    }
    const w = this.waiting.get(m.type);
    if (w === undefined) return;
    w.got.set(m.index, m);
    if (w.got.size === w.want) {
      this.waiting.delete(m.type);
      w.resolve([...w.got.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v));
    }
  }

  /** Wait for one message of `type` from every worker (rejects on a worker failure or after `timeoutMs`). */
  expect(type: FromWorker["type"], timeoutMs: number): Promise<FromWorker[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`workers did not all answer "${type}" within ${timeoutMs} ms`)), timeoutMs);
      this.onFailure = (reason) => {
        clearTimeout(timer);
        reject(new Error(reason));
      };
      if (this.failure !== null) return this.onFailure(this.failure);
      this.waiting.set(type, {
        want: this.children.length,
        got: new Map(),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  send(i: number, message: ToWorker): void {
    this.children[i]?.send(message);
  }

  broadcast(message: ToWorker): void {
    for (const c of this.children) if (c.connected) c.send(message);
  }

  async kill(): Promise<void> {
    for (const c of this.children) if (c.connected) c.send({ type: "exit" } satisfies ToWorker);
    const deadline = Date.now() + 5000;
    while (this.children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

async function importAll(engine: ReturnType<typeof createEngine>, campaignId: string, prefix: string, total: number): Promise<{ seconds: number; created: number }> {
  const start = performance.now();
  let created = 0;
  let lastLog = Date.now();
  for (let from = 0; from < total; from += config.importChunk) {
    const contacts = [];
    for (let i = from; i < Math.min(total, from + config.importChunk); i++) contacts.push({ contactId: `${prefix}${i}` });
    const r = await engine.importContacts({ actorId: "admin", campaignId, contacts });
    created += r.created;
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      const s = (performance.now() - start) / 1000;
      log(`  import ${prefix}: ${created.toLocaleString("en")} of ${total.toLocaleString("en")} (${Math.round(created / s).toLocaleString("en")}/s)`);
    }
  }
  return { seconds: (performance.now() - start) / 1000, created };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const machineAtStart = machine();
  const plans = planTexters(config);
  const byProcess = Array.from({ length: config.processes }, (_, i) => plans.filter((p) => p.process === i));
  log(`scale run: ${config.contacts.toLocaleString("en")} + ${config.contactsB.toLocaleString("en")} conversations, ${config.texters} texters in ${config.processes} processes, ${config.seconds} s steady state; load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);

  const db: Database = await startDatabase(config.profile, config.sharedBuffers);
  cleanups.push(() => db.stop());
  const bouncer: ThrowawayPgBouncer = await startThrowawayPgBouncer(db.url, {
    poolSize: config.bouncerPool,
    maxClientConn: config.processes * config.pool + 100,
  });
  cleanups.push(() => bouncer.stop());
  const version = new pg.Client({ connectionString: db.url });
  await version.connect();
  const serverVersion = (await version.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  await version.end();
  Object.assign(machineAtStart, { postgres: serverVersion.split(" ")[0] });
  log(`PostgreSQL ${db.postmasterPid === null ? "(DATABASE_URL)" : `pid ${db.postmasterPid}`}, PgBouncer pid ${bouncer.pid()} (transaction pooling, ${config.bouncerPool} server connections)`);

  const direct = new pg.Client({ connectionString: db.url });
  direct.on("error", (e) => console.error("monitoring connection:", e.message));
  await direct.connect();
  cleanups.push(() => direct.end());
  const bouncerAdmin = new pg.Client({ connectionString: bouncer.adminUrl });
  bouncerAdmin.on("error", (e) => console.error("PgBouncer console:", e.message));
  await bouncerAdmin.connect();
  cleanups.push(() => bouncerAdmin.end());
  const settings = await serverSettings(direct);
  const adminPool = new pg.Pool({ connectionString: bouncer.url, max: 4 });
  cleanups.push(() => adminPool.end());
  const schema = config.schema;

  await direct.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const storage = createPostgresStorage({ pool: adminPool, schema, listen: false });
  await storage.migrate();
  const engine = createEngine({ storage });
  const org = await engine.createOrganization({ name: "Scale", ownerId: "admin" });
  for (let i = 0; i < plans.length; i += 10_000) {
    await engine.addMembers({ actorId: "admin", orgId: org.id, members: plans.slice(i, i + 10_000).map((p) => ({ userId: p.id, role: "texter" as const })) });
  }
  const A = (await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "GOTV: 10M" })).id;
  const B = (await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Persuasion: 1M" })).id;

  // --- import (both campaigns at once: imports of one campaign take turns, of two do not)
  log(`importing ${config.contacts.toLocaleString("en")} into A and ${config.contactsB.toLocaleString("en")} into B, ${config.importChunk.toLocaleString("en")} contacts per importContacts call …`);
  const cpuImport0 = sampleCpu({ postgres: db.postmasterPid === null ? [] : [db.postmasterPid], pgbouncer: [bouncer.pid() ?? -1], node: [process.pid] });
  const importStart = performance.now();
  const [impA, impB] = await Promise.all([importAll(engine, A, "a", config.contacts), importAll(engine, B, "b", config.contactsB)]);
  const importSeconds = (performance.now() - importStart) / 1000;
  const cpuImport = cpuBetween(cpuImport0, sampleCpu({ postgres: db.postmasterPid === null ? [] : [db.postmasterPid], pgbouncer: [bouncer.pid() ?? -1], node: [process.pid] }));
  log(`imported in ${importSeconds.toFixed(1)} s (${Math.round((impA.created + impB.created) / importSeconds).toLocaleString("en")} conversations/s; A alone ${impA.seconds.toFixed(1)} s)`);
  let analyzeSeconds: number | null = null;
  if (config.analyze) {
    const t = performance.now();
    await direct.query(`VACUUM (ANALYZE) ${schema}.conversations, ${schema}.campaign_contacts`);
    analyzeSeconds = (performance.now() - t) / 1000;
    log(`VACUUM ANALYZE after the import: ${analyzeSeconds.toFixed(1)} s`);
  }
  const sizes = (
    await direct.query<{ table_bytes: string; index_bytes: string }>(
      `SELECT pg_table_size('${schema}.conversations') + pg_table_size('${schema}.campaign_contacts') AS table_bytes,
              pg_indexes_size('${schema}.conversations') + pg_indexes_size('${schema}.campaign_contacts') AS index_bytes`,
    )
  ).rows[0]!;

  // --- campaigns: self assignment on, texting all day (the run must not depend on the hour), stale release, invite links
  const tokens: Record<"A" | "B", string> = { A: "", B: "" };
  for (const [key, id] of [["A", A], ["B", B]] as const) {
    await engine.updateCampaignSettings({
      actorId: "admin",
      campaignId: id,
      enabled: true,
      batchSize: config.batch,
      gate: "no-pending-initials",
      textingHoursStart: "00:00",
      textingHoursEnd: "24:00",
      timeZone: "UTC",
      releaseNotStartedAfterMs: config.staleMs,
      releaseNeedsReplyAfterMs: config.staleMs,
    });
    await engine.launchCampaign({ actorId: "admin", campaignId: id });
    tokens[key] = (await engine.enableInviteLink({ actorId: "admin", campaignId: id })).token;
  }
  const eventHead = await engine.getEventHead();

  // --- the app servers
  const workers = new Workers();
  cleanups.push(() => workers.kill());
  workers.spawn(config.processes);
  const epochMs = Date.now();
  byProcess.forEach((texters, index) =>
    workers.send(index, { type: "init", index, config, url: bouncer.url, texters, campaigns: { A, B }, tokens, orgId: org.id, eventHead, epochMs }),
  );
  await workers.expect("ready", 120_000);
  log(`${config.processes} app servers ready (pool ${config.pool} each, maxConcurrentClaims ${config.claims}); kickoff`);

  // --- the run
  const monitor = new Monitor(direct, bouncerAdmin);
  monitor.start(500);
  if (db.profiling) await direct.query("SELECT pg_stat_statements_reset()");
  const logOffset = logSize(db.logFile);
  const roots = () => ({
    postgres: db.postmasterPid === null ? [] : [db.postmasterPid],
    pgbouncer: [bouncer.pid() ?? -1],
    node_app_servers: workers.children.map((c) => c.pid ?? -1),
    node_admin: [process.pid],
  });
  const t0 = Date.now() + 500;
  const joinEnd = t0 + config.joinSeconds * 1000;
  const end = joinEnd + config.seconds * 1000;
  const cpu0 = sampleCpu(roots());
  workers.broadcast({ type: "start", t0 });
  let cpuJoinEnd: ReturnType<typeof sampleCpu> | null = null;
  let statementsRush: Awaited<ReturnType<typeof topStatements>> = null;
  let statsJoinEnd: Awaited<ReturnType<typeof bouncerStats>> = null;
  const joinTimer = setTimeout(() => {
    cpuJoinEnd = sampleCpu(roots());
    void bouncerStats(bouncerAdmin).then((s) => (statsJoinEnd = s));
    monitor.reset(); // connections and waits: the steady state
    if (db.profiling) {
      void topStatements(direct, 10)
        .then((top) => (statementsRush = top))
        .finally(() => direct.query("SELECT pg_stat_statements_reset()"));
    }
  }, joinEnd - Date.now());
  const progress = setInterval(() => {
    const total = new Map<string, number>();
    for (const counts of workers.progress.values()) for (const [k, v] of Object.entries(counts)) total.set(k, (total.get(k) ?? 0) + v);
    const get = (k: string) => total.get(k) ?? 0;
    const sends = get("send:recorded");
    const joins = [...total].filter(([k]) => k.startsWith("join:")).reduce((n, [, v]) => n + v, 0);
    log(`  t+${Math.round((Date.now() - t0) / 1000)} s: joins ${joins}, requests ${get("request:ok")}, sends recorded ${sends}, webhooks ${get("webhook:recorded") + get("webhook:opted_out")}, stale released ${get("stale_released")}`);
  }, 10_000);
  let adminStopped = false;
  const admin: Promise<AdminRun> = runAdmin({
    engine,
    campaigns: { A, B },
    texters: plans,
    // Writes (pause, reassign) once every volunteer is in: a pause during the rush would refuse joins.
    writesAllowed: () => Date.now() >= joinEnd + 5000 && workers.joinsDone.size === config.processes,
    until: end,
    everyMs: config.adminEveryMs,
    stopped: () => adminStopped || workers.failure !== null,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, end - Date.now());
    const check = setInterval(() => {
      if (workers.failure !== null) {
        clearTimeout(timer);
        clearInterval(check);
        reject(new Error(workers.failure));
      }
    }, 500);
    setTimeout(() => clearInterval(check), end - Date.now() + 10);
  });
  clearTimeout(joinTimer);
  clearInterval(progress);
  const cpuEnd = sampleCpu(roots());
  const statsEnd = await bouncerStats(bouncerAdmin);
  const statements = db.profiling ? await topStatements(direct) : null;
  const tables = await tableStats(direct, schema);
  const monitorReport = monitor.report();
  monitor.stop();
  log("stopping the texters, the provider and stale release …");
  workers.broadcast({ type: "stop" });
  adminStopped = true;
  const stopped = (await workers.expect("stopped", 180_000)) as Extract<FromWorker, { type: "stopped" }>[];
  const adminRun = await admin;
  const waits = lockWaits(db.logFile, logOffset);
  const explained = await explainHot(direct, schema, A, config.batch).catch((e: Error) => ({ error: [e.message] }));

  // --- checks
  log("checking: every texter's ledger against the database, then conservation and the event log in SQL …");
  workers.broadcast({ type: "verify" });
  const ledgers = ((await workers.expect("verified", 600_000)) as Extract<FromWorker, { type: "verified" }>[]).map((m) => m.ledger);
  const checks: CampaignCheck[] = [];
  const checkPool = new pg.Pool({ connectionString: db.url, max: 2 });
  cleanups.push(() => checkPool.end());
  for (const [id, imported] of [[A, impA.created], [B, impB.created]] as const) checks.push(await checkCampaign(checkPool, schema, engine, id, imported));

  // --- report
  const report = compose({
    startedAt,
    importSeconds,
    impA,
    impB,
    analyzeSeconds,
    sizes,
    cpuImport,
    stopped: stopped.map((m) => m.stats),
    adminRun,
    cpuSteady: cpuJoinEnd === null ? null : cpuBetween(cpuJoinEnd, cpuEnd),
    cpuRush: cpuJoinEnd === null ? null : cpuBetween(cpu0, cpuJoinEnd),
    monitorReport,
    statements,
    statementsRush,
    tables,
    plans: explained,
    settings,
    waits,
    bouncer: statsJoinEnd !== null && statsEnd !== null ? diffBouncer(statsJoinEnd, statsEnd, (end - joinEnd) / 1000) : null,
    ledgers,
    checks,
    t0,
    joinEnd,
    end,
    epochMs,
  });
  const fullSize = Object.keys(process.env).every((k) => !k.startsWith("SCALE_") || k === "SCALE_OUT");
  const out = process.env.SCALE_OUT ?? (fullSize ? join(here, "..", "results", "scale.json") : join(tmpdir(), `selfassign-scale-${Date.now()}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const shared = sharedReport(report, {
    command: "npm run bench:scale",
    date: startedAt.toISOString(),
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: { ...machineAtStart, loadEnd: loadavg()[0]! },
  });
  writeFileSync(out, `${JSON.stringify(shared, null, 2)}\n`);
  printSummary(report);
  log(`report: ${out}`);
  if (out === join(here, "..", "results", "scale.json")) log(`docs: ${writeDocs()}`);
  if (!report.checks.all_passed) process.exitCode = 1;
}

function diffBouncer(a: NonNullable<Awaited<ReturnType<typeof bouncerStats>>>, b: NonNullable<Awaited<ReturnType<typeof bouncerStats>>>, seconds: number) {
  const xacts = b.xacts - a.xacts;
  return {
    transactions_per_s: Math.round(xacts / seconds),
    queries_per_s: Math.round((b.queries - a.queries) / seconds),
    mean_client_wait_for_server_ms: Math.round(((b.waitUs - a.waitUs) / Math.max(1, xacts)) * 10) / 10000,
    mean_transaction_ms: Math.round(((b.xactUs - a.xactUs) / Math.max(1, xacts)) * 10) / 10000,
  };
}

type Compose = {
  startedAt: Date;
  importSeconds: number;
  impA: { seconds: number; created: number };
  impB: { seconds: number; created: number };
  analyzeSeconds: number | null;
  sizes: { table_bytes: string; index_bytes: string };
  cpuImport: ReturnType<typeof cpuBetween>;
  stopped: WorkerStats[];
  adminRun: AdminRun;
  cpuSteady: ReturnType<typeof cpuBetween> | null;
  cpuRush: ReturnType<typeof cpuBetween> | null;
  monitorReport: ReturnType<Monitor["report"]>;
  statements: Awaited<ReturnType<typeof topStatements>>;
  statementsRush: Awaited<ReturnType<typeof topStatements>>;
  tables: Awaited<ReturnType<typeof tableStats>>;
  plans: Record<string, string[]>;
  settings: Record<string, string>;
  waits: ReturnType<typeof lockWaits>;
  bouncer: ReturnType<typeof diffBouncer> | null;
  ledgers: LedgerReport[];
  checks: CampaignCheck[];
  t0: number;
  joinEnd: number;
  end: number;
  epochMs: number;
};

function compose(c: Compose) {
  const merged = new Map<string, Histogram>();
  const counts = new Map<string, number>();
  const errors = new Map<string, { count: number; sample: string }>();
  const perKind = new Map<string, Map<number, number>>();
  const all = new Map<number, number>();
  let lastJoinMs = 0;
  let joined = 0;
  let maxWaiting = 0;
  for (const s of c.stopped) {
    for (const [k, h] of Object.entries(s.histograms)) (merged.get(k) ?? merged.set(k, new Histogram()).get(k)!).merge(h);
    for (const [k, v] of Object.entries(s.counts)) counts.set(k, (counts.get(k) ?? 0) + v);
    for (const [k, v] of Object.entries(s.errors)) {
      const e = errors.get(k) ?? { count: 0, sample: v.sample };
      e.count += v.count;
      errors.set(k, e);
    }
    for (const [kind, seconds] of Object.entries(s.messages)) {
      mergeSeconds(perKind.get(kind) ?? perKind.set(kind, new Map()).get(kind)!, seconds);
      mergeSeconds(all, seconds);
    }
    lastJoinMs = Math.max(lastJoinMs, s.lastJoinMs ?? 0);
    joined += s.joined;
    maxWaiting = Math.max(maxWaiting, s.claimQueue.maxWaiting);
  }
  const h = (k: string) => (merged.get(k) ?? new Histogram()).summary();
  const steadyFrom = Math.ceil((c.joinEnd - c.epochMs) / 1000);
  const steadyTo = Math.floor((c.end - c.epochMs) / 1000);
  const adminAll = new Histogram();
  const adminWithoutOverview = new Histogram();
  for (const [op, hist] of c.adminRun.histograms) {
    adminAll.merge(hist.toJSON());
    if (op !== "getOverview") adminWithoutOverview.merge(hist.toJSON());
  }
  const joinErrors = [...errors].filter(([k]) => k.startsWith("join:")).reduce((n, [, v]) => n + v.count, 0);
  const messages = rateOver(all, steadyFrom, steadyTo);
  const requests = h("request");
  // Slow requests (> 250 ms) and what ran meanwhile: an admin write (pause … resume, a reassignment), the join rush.
  const slow = c.stopped.flatMap((s) => s.slowRequests.map(([at, ms]) => [c.t0 + at, c.t0 + at + ms] as const));
  const overlapsAdmin = slow.filter(([a, b]) => c.adminRun.writes.some(([x, y]) => a < y && b > x)).length;
  const inRush = slow.filter(([a]) => a < c.joinEnd).length;
  const adminSummary = adminAll.summary();
  const ledgersOk = c.ledgers.every((l) => l.mismatchedTexters === 0 && l.badCounts === 0);
  const held = c.ledgers.reduce((n, l) => n + l.heldByLedgers, 0);
  const heldDb = c.checks.reduce((n, x) => n + x.held, 0);
  const checksPassed = ledgersOk && c.checks.every(campaignOk) && held === heldDb;
  const failedChecks =
    c.ledgers.reduce((n, l) => n + l.mismatchedTexters + l.badCounts, 0) + c.checks.filter((x) => !campaignOk(x)).length + (held === heldDb ? 0 : 1);
  const targets = [
    target("errors in the join rush (exceptions and refusals)", joined === config.texters ? joinErrors : Number.NaN, "== 0", { source: "issue 14" }),
    target("every texter joined within a minute of kickoff", Math.round(lastJoinMs / 100) / 10, "<= 60", { source: "issue 14", unit: "s" }),
    target("request p99 (requestConversations)", requests.p99_ms ?? Number.NaN, "<= 250", { source: "issue 14", unit: "ms" }),
    target("admin operation p99 (overview, pause, resume, reassign, list)", adminSummary.p99_ms ?? Number.NaN, "<= 500", { source: "issue 14", unit: "ms" }),
    target("message events recorded per second, steady state, lowest 10 s window", messages.min_10s_per_s, ">= 2000", { source: "issue 14", unit: "/s" }),
    target("failed checks (I1, ledgers, conservation, event replay)", failedChecks, "== 0", { source: "issue 14" }),
  ];
  return {
    date: c.startedAt.toISOString(),
    node: process.version,
    machine: { cores: cpus().length, load_at_end: loadavg().map((x) => Math.round(x * 100) / 100) },
    config,
    postgres_settings: c.settings,
    targets,
    import: {
      conversations: c.impA.created + c.impB.created,
      seconds: Math.round(c.importSeconds * 10) / 10,
      per_s: Math.round((c.impA.created + c.impB.created) / c.importSeconds),
      campaign_a_seconds: Math.round(c.impA.seconds * 10) / 10,
      campaign_b_seconds: Math.round(c.impB.seconds * 10) / 10,
      vacuum_analyze_seconds: c.analyzeSeconds === null ? null : Math.round(c.analyzeSeconds * 10) / 10,
      table_gb: Math.round((Number(c.sizes.table_bytes) / 2 ** 30) * 100) / 100,
      index_gb: Math.round((Number(c.sizes.index_bytes) / 2 ** 30) * 100) / 100,
      cpu: c.cpuImport,
    },
    joins: {
      ...h("join"),
      joined,
      errors: joinErrors,
      outcomes: Object.fromEntries([...counts].filter(([k]) => k.startsWith("join"))),
      last_join_after_s: Math.round(lastJoinMs / 100) / 10,
    },
    requests: {
      ...requests,
      over_250_ms: { count: slow.length, during_admin_writes: overlapsAdmin, during_join_rush: inRush, admin_write_seconds: Math.round(c.adminRun.writes.reduce((n, [x, y]) => n + (y - x), 0) / 1000) },
      outcomes: Object.fromEntries([...counts].filter(([k]) => k.startsWith("request"))) },
    messages: {
      steady_state: messages,
      by_kind_per_s: Object.fromEntries([...perKind].map(([k, m]) => [k, rateOver(m, steadyFrom, steadyTo).mean_per_s])),
      send_click: h("send"),
      send_batch: h("send_batch"),
      webhook_batch: h("webhook"),
      outcomes: Object.fromEntries([...counts].filter(([k]) => k.startsWith("send") || k.startsWith("webhook"))),
      per_second: Object.fromEntries([...all].sort((a, b) => a[0] - b[0]).map(([s, n]) => [String(s - Math.floor((c.t0 - c.epochMs) / 1000)), n])),
    },
    views: h("view"),
    events_read: h("events_read"),
    // SCALE_TRACE_QUERIES=1: statements as the app servers saw them (round trip), by total time.
    query_trace: Object.fromEntries(
      [...merged]
        .filter(([k]) => k.startsWith("q:") || k === "pool_checkout" || k === "connection_held")
        .sort((a, b) => b[1].sum - a[1].sum)
        .slice(0, 25)
        .map(([k, v]) => [k, { ...v.summary(), total_s: Math.round(v.sum / 100) / 10 }]),
    ),
    stale_release: { runs: h("stale_release"), released: counts.get("stale_released") ?? 0, lost_by_texters: Object.fromEntries([...counts].filter(([k]) => k.startsWith("lost:"))) },
    admin: {
      ...adminSummary,
      without_overview: adminWithoutOverview.summary(),
      by_operation: Object.fromEntries([...c.adminRun.histograms].map(([k, v]) => [k, v.summary()])),
      errors: Object.fromEntries(c.adminRun.errors),
    },
    claim_queue_max_waiting_per_process: maxWaiting,
    retries_and_timeouts: Object.fromEntries([...counts].filter(([k]) => k.startsWith("retry:") || k.startsWith("timeout:"))),
    errors: Object.fromEntries(errors),
    connections: c.monitorReport,
    pgbouncer: c.bouncer,
    cpu: { join_rush: c.cpuRush, steady_state: c.cpuSteady },
    statements: c.statements,
    statements_join_rush: c.statementsRush,
    tables_at_end: c.tables,
    plans_after_the_run: c.plans,
    lock_waits_logged: c.waits,
    checks: {
      all_passed: checksPassed,
      ledgers: {
        texters: c.ledgers.reduce((n, l) => n + l.texters, 0),
        mismatched_texters: c.ledgers.reduce((n, l) => n + l.mismatchedTexters, 0),
        missing: c.ledgers.reduce((n, l) => n + l.missing, 0),
        extra: c.ledgers.reduce((n, l) => n + l.extra, 0),
        bad_counts: c.ledgers.reduce((n, l) => n + l.badCounts, 0),
        held_by_ledgers: held,
        held_in_database: heldDb,
        samples: c.ledgers.flatMap((l) => l.samples).slice(0, 10),
      },
      campaigns: c.checks,
    },
  };
}

function printSummary(r: ReturnType<typeof compose>): void {
  console.log("\n== targets");
  for (const t of r.targets) console.log(`${t.met ? "✔ met    " : "✘ NOT met"}  ${t.name}: ${String(t.value)} (target ${t.target})`);
  console.log(`\nimport: ${r.import.conversations.toLocaleString("en")} in ${r.import.seconds} s (${r.import.per_s.toLocaleString("en")}/s)`);
  console.log(`joins: ${r.joins.joined}, p50 ${r.joins.p50_ms} ms, p99 ${r.joins.p99_ms} ms, errors ${r.joins.errors}, last at ${r.joins.last_join_after_s} s`);
  console.log(`requests: ${r.requests.count}, p50 ${r.requests.p50_ms} ms, p99 ${r.requests.p99_ms} ms, p99.9 ${r.requests.p999_ms} ms`);
  console.log(`messages: ${JSON.stringify(r.messages.steady_state)} by kind ${JSON.stringify(r.messages.by_kind_per_s)}; click p50 ${r.messages.send_click.p50_ms} p99 ${r.messages.send_click.p99_ms} ms`);
  console.log(`admin: p99 ${r.admin.p99_ms} ms; ${Object.entries(r.admin.by_operation).map(([k, v]) => `${k} p50 ${v.p50_ms} p99 ${v.p99_ms} (${v.count})`).join("; ")}`);
  console.log(`connections: PostgreSQL max ${r.connections.postgres_client_connections_max}, active max ${r.connections.postgres_active_max}; PgBouncer clients waiting max ${r.connections.bouncer_clients_waiting_max}`);
  if (r.cpu.steady_state !== null) console.log(`cpu (steady state, cores): ${Object.entries(r.cpu.steady_state.trees).map(([k, v]) => `${k} ${v.cores}`).join(", ")}; others ${r.cpu.steady_state.others_cores}`);
  console.log(`checks: ${r.checks.all_passed ? "all passed" : "FAILED"} — ledgers ${r.checks.ledgers.mismatched_texters} mismatched of ${r.checks.ledgers.texters}; campaigns ${r.checks.campaigns.map((x) => `${x.rows} rows, replay ${x.replay.ok ? "ok" : "FAIL"}, statuses ${x.statusReplay.mismatches} mismatches`).join("; ")}`);
  if (Object.keys(r.errors).length > 0) console.log("errors:", r.errors);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanup());

/**
 * The servers of a scale run: PostgreSQL (a throwaway server unless DATABASE_URL is set) with the
 * settings this run needs, and PgBouncer in transaction mode in front of it; plus the monitors that
 * sample connections, waits and PgBouncer's pools during the run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { startThrowawayPostgres } from "../../tools/throwaway-postgres.js";

/**
 * Settings applied with ALTER SYSTEM (tools/throwaway-postgres.ts sets fsync off, shared_buffers
 * 256MB and max_connections on its command line, which ALTER SYSTEM cannot override). Why each is
 * here: docs/scaling.md.
 */
export const SERVER_SETTINGS: Readonly<Record<string, string>> = {
  // A 10M-row import writes ~5 GB of WAL: without room, a checkpoint every few seconds.
  max_wal_size: "8GB",
  checkpoint_timeout: "15min",
  // Lock waits longer than this are logged (and counted in the report): what waited, on what.
  log_lock_waits: "on",
  deadlock_timeout: "100ms",
  track_io_timing: "on",
  // The overview's count scans the campaign (2.4 s at 10 M with two parallel workers): parallel
  // workers took CPU from the texters on a 2-core server; one process per scan bounds that to a core.
  max_parallel_workers_per_gather: "0",
};

export interface Database {
  readonly url: string;
  /** Postmaster pid (CPU accounting), or null for an external server. */
  readonly postmasterPid: number | null;
  /** The server log (lock waits), or null for an external server. */
  readonly logFile: string | null;
  readonly profiling: boolean;
  stop(): void;
}

/** The settings that shaped the run, as the server reports them. */
export async function serverSettings(direct: pg.Client): Promise<Record<string, string>> {
  const { rows } = await direct.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name`,
    [["shared_buffers", "max_connections", "fsync", "synchronous_commit", "full_page_writes", "max_wal_size", "checkpoint_timeout", "autovacuum_vacuum_scale_factor", "work_mem", "max_parallel_workers_per_gather", "deadlock_timeout", "shared_preload_libraries"]],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
}

function runAsPostgres(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const full = root ? ["runuser", "-u", "postgres", "--", cmd, ...args] : [cmd, ...args];
  const r = spawnSync(full[0]!, full.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/**
 * The server's options from postmaster.opts (without -D, which pg_ctl passes), as one `-o` string,
 * with `-c name=value` settings replaced or added.
 */
function commandLine(optsFile: string, replace: Record<string, string>): string {
  const tokens = [...readFileSync(optsFile, "utf8").matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "-D") {
      i++;
      continue;
    }
    if (t === "-c" && i + 1 < tokens.length) {
      const [name] = tokens[i + 1]!.split("=");
      const value = replace[name!];
      out.push("-c", value === undefined ? tokens[i + 1]! : `${name}=${value}`);
      seen.add(name!);
      i++;
      continue;
    }
    out.push(t);
  }
  for (const [name, value] of Object.entries(replace)) if (!seen.has(name)) out.push("-c", `${name}=${value}`);
  if (out.some((t) => /[\s'"\\$`]/.test(t))) throw new Error(`unexpected characters in the server's options: ${out.join(" ")}`);
  return out.join(" ");
}

/** Start (or use) PostgreSQL; with `profile`, restart it once with pg_stat_statements loaded. */
export async function startDatabase(profile: boolean, sharedBuffers: string): Promise<Database> {
  const given = process.env.DATABASE_URL;
  if (given !== undefined && given !== "") {
    const client = new pg.Client({ connectionString: given });
    await client.connect();
    let profiling = false;
    try {
      await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await client.query("SELECT pg_stat_statements_reset()");
      profiling = true;
    } catch {
      /* not preloaded on that server: no statement profile */
    }
    await client.end();
    return { url: given, postmasterPid: null, logFile: null, profiling, stop: () => undefined };
  }
  const server = await startThrowawayPostgres();
  const quiet = () => undefined;
  try {
    const client = new pg.Client({ connectionString: server.url });
    client.on("error", quiet);
    await client.connect();
    const dataDir = (await client.query<{ data_directory: string }>("SHOW data_directory")).rows[0]!.data_directory;
    const binDir = (await client.query<{ setting: string }>("SELECT setting FROM pg_config WHERE name = 'BINDIR'")).rows[0]!.setting;
    for (const [name, value] of Object.entries(SERVER_SETTINGS)) await client.query(`ALTER SYSTEM SET ${name} = '${value}'`);
    // Per-statement profile of the run (the report's top statements): needs a restart to load.
    if (profile) await client.query("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
    await client.end();
    const logFile = join(dirname(dataDir), "server.log");
    // Restart with the command line the server was started with (postmaster.opts), shared_buffers
    // replaced: the throwaway server's 256MB is set on its command line, which ALTER SYSTEM cannot override.
    const options = commandLine(join(dataDir, "postmaster.opts"), { shared_buffers: sharedBuffers });
    runAsPostgres(join(binDir, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-o", options, "-w", "-t", "120", "-m", "fast", "restart"]);
    const after = new pg.Client({ connectionString: server.url });
    after.on("error", quiet);
    await after.connect();
    if (profile) await after.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    await after.end();
    const pidFile = join(dataDir, "postmaster.pid");
    const postmasterPid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : null;
    return { url: server.url, postmasterPid, logFile, profiling: profile, stop: () => server.stop() };
  } catch (error) {
    server.stop();
    throw error;
  }
}

/** Lock waits the server logged (log_lock_waits): how many, on what, the longest. */
export function lockWaits(logFile: string | null, fromOffset: number): { waits: number; byLock: Record<string, number>; longestMs: number; samples: string[] } | null {
  if (logFile === null || !existsSync(logFile)) return null;
  const text = readFileSync(logFile, "utf8").slice(fromOffset);
  const byLock: Record<string, number> = {};
  let waits = 0;
  let longestMs = 0;
  const samples: string[] = [];
  for (const line of text.split("\n")) {
    const still = /still waiting for (\w+) on (advisory lock|transaction|tuple|relation|object)?[^\n]*? after ([\d.]+) ms/.exec(line);
    if (still !== null) {
      waits++;
      const key = `${still[1]} on ${still[2] ?? "?"}`;
      byLock[key] = (byLock[key] ?? 0) + 1;
      if (samples.length < 5) samples.push(line.slice(0, 300));
    }
    const acquired = /acquired (\w+) on [^\n]*? after ([\d.]+) ms/.exec(line);
    if (acquired !== null) longestMs = Math.max(longestMs, Number(acquired[2]));
  }
  return { waits, byLock, longestMs: Math.round(longestMs), samples };
}

export function logSize(logFile: string | null): number {
  return logFile !== null && existsSync(logFile) ? readFileSync(logFile, "utf8").length : 0;
}

/** Samples PostgreSQL's connections and waits, and PgBouncer's pools, every `everyMs`. */
export class Monitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  samples = 0;
  max = { clients: 0, active: 0, autovacuum: 0, bouncerClientsWaiting: 0, bouncerServersActive: 0, bouncerMaxWaitMs: 0 };
  sum = { clients: 0, active: 0, bouncerClientsWaiting: 0 };
  waits = new Map<string, number>();

  constructor(
    private readonly direct: pg.Client,
    private readonly bouncerAdmin: pg.Client,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  reset(): void {
    this.samples = 0;
    this.max = { clients: 0, active: 0, autovacuum: 0, bouncerClientsWaiting: 0, bouncerServersActive: 0, bouncerMaxWaitMs: 0 };
    this.sum = { clients: 0, active: 0, bouncerClientsWaiting: 0 };
    this.waits.clear();
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.direct.query<{ backend_type: string; state: string | null; wait_event_type: string | null; wait_event: string | null; n: string }>(
        `SELECT backend_type, state, wait_event_type, wait_event, count(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() GROUP BY 1, 2, 3, 4`,
      );
      let clients = 0;
      let active = 0;
      let autovacuum = 0;
      for (const r of rows) {
        const n = Number(r.n);
        if (r.backend_type === "client backend") {
          clients += n;
          if (r.state === "active") {
            active += n;
            const key = r.wait_event_type === null ? "CPU (no wait)" : `${r.wait_event_type}:${r.wait_event}`;
            this.waits.set(key, (this.waits.get(key) ?? 0) + n);
          }
        }
        if (r.backend_type === "autovacuum worker") autovacuum += n;
      }
      const pools = (await this.bouncerAdmin.query<{ database: string; cl_waiting: string; sv_active: string; maxwait: string; maxwait_us: string }>("SHOW POOLS")).rows.filter(
        (p) => p.database !== "pgbouncer",
      );
      const waiting = pools.reduce((n, p) => n + Number(p.cl_waiting), 0);
      const serversActive = pools.reduce((n, p) => n + Number(p.sv_active), 0);
      const maxWaitMs = Math.max(0, ...pools.map((p) => Number(p.maxwait) * 1000 + Number(p.maxwait_us) / 1000));
      this.samples++;
      this.sum.clients += clients;
      this.sum.active += active;
      this.sum.bouncerClientsWaiting += waiting;
      this.max.clients = Math.max(this.max.clients, clients);
      this.max.active = Math.max(this.max.active, active);
      this.max.autovacuum = Math.max(this.max.autovacuum, autovacuum);
      this.max.bouncerClientsWaiting = Math.max(this.max.bouncerClientsWaiting, waiting);
      this.max.bouncerServersActive = Math.max(this.max.bouncerServersActive, serversActive);
      this.max.bouncerMaxWaitMs = Math.max(this.max.bouncerMaxWaitMs, maxWaitMs);
    } catch {
      /* a sample missed */
    } finally {
      this.busy = false;
    }
  }

  report() {
    const n = Math.max(1, this.samples);
    const activeSamples = [...this.waits.values()].reduce((a, b) => a + b, 0);
    return {
      samples: this.samples,
      postgres_client_connections_max: this.max.clients,
      postgres_client_connections_mean: Math.round((this.sum.clients / n) * 10) / 10,
      postgres_active_max: this.max.active,
      postgres_active_mean: Math.round((this.sum.active / n) * 10) / 10,
      autovacuum_workers_max: this.max.autovacuum,
      bouncer_clients_waiting_max: this.max.bouncerClientsWaiting,
      bouncer_clients_waiting_mean: Math.round((this.sum.bouncerClientsWaiting / n) * 10) / 10,
      bouncer_servers_active_max: this.max.bouncerServersActive,
      bouncer_longest_client_wait_ms: Math.round(this.max.bouncerMaxWaitMs),
      /** Share of sampled active backends by what they were doing (no wait = on CPU). */
      active_backend_waits: Object.fromEntries(
        [...this.waits].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => [k, Math.round((v / Math.max(1, activeSamples)) * 1000) / 1000]),
      ),
    };
  }
}

/** The costliest statements since the last reset (pg_stat_statements), or null when not loaded. */
export async function topStatements(direct: pg.Client, limit = 15) {
  try {
    const { rows } = await direct.query<{ query: string; calls: string; total_ms: number; mean_ms: number; rows: string; blks_hit: string; blks_read: string }>(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows, shared_blks_hit AS blks_hit, shared_blks_read AS blks_read
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_%' 
       ORDER BY total_exec_time DESC LIMIT $1`,
      [limit],
    );
    const total = (await direct.query<{ t: number; calls: string }>("SELECT sum(total_exec_time) AS t, sum(calls) AS calls FROM pg_stat_statements")).rows[0]!;
    return {
      total_exec_ms: Math.round(total.t),
      total_calls: Number(total.calls),
      top: rows.map((r) => ({
        query: r.query.slice(0, 240),
        calls: Number(r.calls),
        total_ms: Math.round(r.total_ms),
        share: Math.round((r.total_ms / total.t) * 1000) / 1000,
        mean_ms: Math.round(r.mean_ms * 1000) / 1000,
        rows: Number(r.rows),
      })),
    };
  } catch {
    return null;
  }
}

/** PgBouncer's totals (SHOW STATS) for the database. */
export async function bouncerStats(admin: pg.Client): Promise<{ xacts: number; queries: number; waitUs: number; xactUs: number; queryUs: number } | null> {
  try {
    const { rows } = await admin.query<Record<string, string>>("SHOW STATS");
    const r = rows.find((x) => x.database !== "pgbouncer");
    if (r === undefined) return null;
    return { xacts: Number(r.total_xact_count), queries: Number(r.total_query_count), waitUs: Number(r.total_wait_time), xactUs: Number(r.total_xact_time), queryUs: Number(r.total_query_time) };
  } catch {
    return null;
  }
}

/** Write, update and vacuum counters of the schema's busiest tables, and their sizes. */
export async function tableStats(direct: pg.Client, schema: string) {
  const { rows } = await direct.query<Record<string, string | null>>(
    `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, n_live_tup, autovacuum_count, autoanalyze_count,
            pg_size_pretty(pg_table_size(relid)) AS table_size, pg_size_pretty(pg_indexes_size(relid)) AS index_size
     FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('conversations', 'events', 'campaign_contacts', 'claim_keys', 'campaigns')
     ORDER BY relname`,
    [schema],
  );
  return Object.fromEntries(
    rows.map((r) => [
      r.relname,
      {
        inserted: Number(r.n_tup_ins),
        updated: Number(r.n_tup_upd),
        hot_updated: Number(r.n_tup_hot_upd),
        dead: Number(r.n_dead_tup),
        live: Number(r.n_live_tup),
        autovacuums: Number(r.autovacuum_count),
        autoanalyzes: Number(r.autoanalyze_count),
        table_size: r.table_size,
        index_size: r.index_size,
      },
    ]),
  );
}

/**
 * After the run, on the quiet server: the plans and buffer counts of the two statements whose cost
 * depends on the campaign's state — a claim's scan of the unassigned index (50 rows, rolled back) and
 * the overview's count — for whoever tunes them next.
 */
export async function explainHot(direct: pg.Client, schema: string, campaignId: string, batch: number): Promise<Record<string, string[]>> {
  const plan = async (sql: string) => (await direct.query<{ "QUERY PLAN": string }>(sql, [campaignId])).rows.map((r) => r["QUERY PLAN"]);
  await direct.query("BEGIN");
  try {
    const claim = await plan(
      `EXPLAIN (ANALYZE, BUFFERS) SELECT ctid, rank, sort_key, seq FROM ${schema}.conversations
       WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2 ORDER BY rank, sort_key, seq LIMIT ${Math.floor(batch)} FOR UPDATE OF conversations SKIP LOCKED`,
    );
    const overview = await plan(`EXPLAIN (ANALYZE, BUFFERS) SELECT assignee, status, count(*) AS n FROM ${schema}.conversations WHERE campaign_id = $1 GROUP BY assignee, status`);
    return { claim_scan: claim, overview_count: overview };
  } finally {
    await direct.query("ROLLBACK");
  }
}

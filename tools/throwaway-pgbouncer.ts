/**
 * Starts a throwaway PgBouncer in front of a PostgreSQL server, for tests and benchmarks: its own
 * config, auth file, log and pid file in a temporary directory, a free loopback port, transaction
 * pooling by default; stopped and its directory deleted at the end. It never touches the system's
 * PgBouncer service or /etc/pgbouncer. PgBouncer refuses to run as root, so as root (CI) it runs as
 * the `postgres` system user via `runuser`.
 *
 * With no `pgbouncer` binary it throws an error that says how to get one — never a silent skip.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, serverEnv } from "./throwaway-postgres.js";

export interface ThrowawayPgBouncer {
  /** Connection string for clients: the upstream user and database, through PgBouncer's port. */
  readonly url: string;
  /** Connection string of PgBouncer's admin console (`SHOW POOLS`, `SHOW STATS`; simple queries only). */
  readonly adminUrl: string;
  /** PgBouncer's own process id (for CPU accounting), or `null` when it has exited. */
  pid(): number | null;
  /** The log file's text (for failures). */
  log(): string;
  /** Stop PgBouncer and delete its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** `transaction` (default), `session` or `statement`. */
  readonly poolMode?: "transaction" | "session" | "statement";
  /** Server connections per (database, user): `default_pool_size`. Default 20. */
  readonly poolSize?: number;
  /** Most server connections to the database in total (`max_db_connections`, 0 = no limit). Default 0. */
  readonly maxDbConnections?: number;
  /** Most client connections (`max_client_conn`). Default 2,000. */
  readonly maxClientConn?: number;
  /** Extra `[pgbouncer]` settings, written as `key = value`. */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/** Why pgbouncer is needed, and how to get it. */
export const PGBOUNCER_HELP = `No pgbouncer binary found (PATH, /usr/sbin, /usr/bin, /usr/local/bin).
The PgBouncer tests and \`npm run bench:scale\` start their own throwaway PgBouncer; install it:
  Debian/Ubuntu:  apt-get install -y pgbouncer        (as root; the tests never use its system service)
  macOS:          brew install pgbouncer
Or point PGBOUNCER_BIN at the binary.`;

/** The pgbouncer binary, or throws {@link PGBOUNCER_HELP}. */
export function findPgBouncer(): string {
  const given = process.env.PGBOUNCER_BIN;
  if (given !== undefined && given !== "") {
    if (!existsSync(given)) throw new Error(`PGBOUNCER_BIN=${given} does not exist.\n${PGBOUNCER_HELP}`);
    return given;
  }
  const which = spawnSync("sh", ["-c", "command -v pgbouncer"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim() !== "") return which.stdout.trim();
  const found = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer", "/opt/homebrew/bin/pgbouncer"].find((p) => existsSync(p));
  if (found === undefined) throw new Error(PGBOUNCER_HELP);
  return found;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** `"` doubled inside a quoted auth-file field. */
const authField = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** A libpq connect-string value, quoted. */
const connValue = (s: string) => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/**
 * Start PgBouncer in front of `upstreamUrl` (a `postgres://user[:password]@host:port/db` URL). Clients
 * connect to the returned `url` with the same user and database; PgBouncer logs into the server with
 * the URL's password (kept in its auth file), and clients are trusted (loopback only).
 */
export async function startThrowawayPgBouncer(upstreamUrl: string, options: PgBouncerOptions = {}): Promise<ThrowawayPgBouncer> {
  const bin = findPgBouncer();
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username || "postgres");
  const password = decodeURIComponent(upstream.password);
  const database = decodeURIComponent(upstream.pathname.replace(/^\//, "")) || user;
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "selfassign-pgbouncer-"));
  chmodSync(dir, 0o700);
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const logFile = join(dir, "pgbouncer.log");
  const pidFile = join(dir, "pgbouncer.pid");
  const server = [
    `host=${connValue(upstream.hostname.replace(/^\[|\]$/g, ""))}`,
    `port=${upstream.port || "5432"}`,
    `dbname=${connValue(database)}`,
  ].join(" ");
  const settings: Record<string, string | number> = {
    listen_addr: "127.0.0.1",
    listen_port: port,
    unix_socket_dir: "",
    auth_type: "trust",
    auth_file: join(dir, "userlist.txt"),
    admin_users: user,
    stats_users: user,
    pool_mode: options.poolMode ?? "transaction",
    default_pool_size: options.poolSize ?? 20,
    min_pool_size: 0,
    reserve_pool_size: 0,
    max_db_connections: options.maxDbConnections ?? 0,
    max_client_conn: options.maxClientConn ?? 2000,
    // Transaction pooling runs no reset query between clients (the library keeps no session state).
    server_reset_query: "",
    server_check_delay: 30,
    // `pg` sends these at start-up; PgBouncer would refuse parameters it does not track.
    ignore_startup_parameters: "extra_float_digits,options,statement_timeout,idle_in_transaction_session_timeout",
    logfile: logFile,
    pidfile: pidFile,
    log_connections: 0,
    log_disconnections: 0,
    log_pooler_errors: 1,
    stats_period: 10,
    ...options.settings,
  };
  const ini = [
    "[databases]",
    `${database} = ${server}`,
    "",
    "[pgbouncer]",
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`),
    "",
  ].join("\n");
  const iniFile = join(dir, "pgbouncer.ini");
  writeFileSync(iniFile, ini, { mode: 0o600 });
  writeFileSync(join(dir, "userlist.txt"), `${authField(user)} ${authField(password)}\n`, { mode: 0o600 });
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    for (const f of [iniFile, join(dir, "userlist.txt")]) chownSync(f, uid, gid);
  }
  const argv = root ? ["runuser", "-u", "postgres", "--", bin, iniFile] : [bin, iniFile];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: false, env: serverEnv() });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.once("exit", () => (exited = true));
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const pgbouncerPid = (): number | null => {
    if (exited || !existsSync(pidFile)) return null;
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const pid = pgbouncerPid();
    try {
      // SIGINT: "safe shutdown" would wait for clients; SIGTERM shuts down at once.
      if (pid !== null) process.kill(pid, "SIGTERM");
      else if (!exited) child.kill("SIGTERM");
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!exited) {
      try {
        if (pid !== null) process.kill(pid, "SIGKILL");
        child.kill("SIGKILL");
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      const why = `${stderr}\n${readLog()}`.trim();
      await stop();
      throw new Error(`pgbouncer did not start (${exited ? "it exited" : "timeout"}):\n${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const auth = `${encodeURIComponent(user)}${password === "" ? "" : `:${encodeURIComponent(password)}`}`;
  return {
    url: `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    adminUrl: `postgres://${auth}@127.0.0.1:${port}/pgbouncer`,
    pid: pgbouncerPid,
    log: readLog,
    stop,
  };
}

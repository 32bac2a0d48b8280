/**
 * Starts a throwaway PostgreSQL server for tests and benchmarks when DATABASE_URL is not set: a
 * temporary data directory, a free loopback port, fsync off, stopped and deleted at the end. As root
 * (CI), initdb and the server run as the `postgres` system user via `runuser`.
 *
 * With no PostgreSQL installed it throws an error that says how to get one — never a silent skip.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, chownSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ThrowawayPostgres {
  /** Connection string for the superuser on the loopback port. */
  readonly url: string;
  /** Stop the server and delete its data directory. */
  stop(): void;
}

const HELP = `No PostgreSQL server binaries found (pg_ctl, initdb).
Either point the tests at a server you run:   DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db npm test
or install PostgreSQL so the tests can start a throwaway one:
  Debian/Ubuntu:  apt-get install -y postgresql        (as root)
  macOS:          brew install postgresql@15`;

function findBinDir(): string {
  const candidates: string[] = [];
  const which = spawnSync("sh", ["-c", "command -v pg_ctl"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim() !== "") {
    try {
      candidates.push(join(realpathSync(which.stdout.trim()), ".."));
    } catch {
      /* ignore */
    }
  }
  for (const base of ["/usr/lib/postgresql", "/usr/local/pgsql"]) {
    if (!existsSync(base)) continue;
    if (existsSync(join(base, "bin", "pg_ctl"))) candidates.push(join(base, "bin"));
    for (const v of readdirSync(base).sort().reverse()) candidates.push(join(base, v, "bin"));
  }
  const dir = candidates.find((d) => existsSync(join(d, "pg_ctl")) && existsSync(join(d, "initdb")));
  if (dir === undefined) throw new Error(HELP);
  return dir;
}

/**
 * The environment for a database or pooler process: this process's, without libfaketime. The suite's
 * night run moves the Node process's clock with `faketime`, which works by LD_PRELOAD and would be
 * inherited by the servers; under it PostgreSQL's lock timers fired after a few milliseconds instead
 * of `lock_timeout`. The servers keep the real clock: the clock under test is the engine's.
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("FAKETIME") || name === "DONT_FAKE_MONOTONIC") continue;
    if (name === "LD_PRELOAD") {
      const kept = (value ?? "").split(/[: ]/).filter((lib) => lib !== "" && !lib.includes("faketime"));
      if (kept.length > 0) env[name] = kept.join(":");
      continue;
    }
    env[name] = value;
  }
  return env;
}

/** A free loopback TCP port (asked of the OS). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Start a server; `max_connections` defaults to 300 so hammer tests with many connections fit. */
export async function startThrowawayPostgres(options: { maxConnections?: number } = {}): Promise<ThrowawayPostgres> {
  const bin = findBinDir();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "selfassign-pg-"));
  const data = join(dir, "data");
  chmodSync(dir, 0o755);
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const full = root ? ["runuser", "-u", "postgres", "--", join(bin, cmd), ...args] : [join(bin, cmd), ...args];
    const r = spawnSync(full[0]!, full.slice(1), { encoding: "utf8", cwd: dir, env: serverEnv() });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const settings = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    `-c max_connections=${options.maxConnections ?? 300}`,
    "-c shared_buffers=256MB",
  ].join(" ");
  run("pg_ctl", ["-D", data, "-o", settings, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

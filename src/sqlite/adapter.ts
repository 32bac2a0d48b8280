/**
 * The SQLite storage adapter, on better-sqlite3 (an optional peer dependency): persistent, embedded,
 * one file. Written from the public entries alone — the contract's types and the shared rules and
 * fact builders of `selfassign/adapter` — as the proof that a third party can write an adapter.
 *
 * better-sqlite3 is synchronous, so every write runs as one `BEGIN IMMEDIATE` transaction inside one
 * call: atomic, and serialized against every other writer (in this process and, through SQLite's
 * file lock, in others). A writer that finds the file locked waits — SQLite's busy timeout, 30 s by
 * default — rather than fail. Members and senders are rows of their own; the schema is versioned
 * (`PRAGMA user_version`) and `migrate()` brings any earlier version up to date.
 * @module
 */
import type { Capabilities, StorageAdapter } from "../adapter.js";
import * as aggregates from "./aggregates.js";
import * as bulk from "./bulk-send.js";
import { commitCampaign } from "./campaign-commit.js";
import { Connection, type SqliteDatabaseLike } from "./database.js";
import * as facts from "./facts.js";
import { type SqliteMigrateResult, migrate } from "./migrations.js";
import * as pool from "./pool.js";
import * as reads from "./reads.js";

export type { SqliteDatabaseLike, SqliteRunResult, SqliteStatementLike, SqliteTransactionLike } from "./database.js";
export type { SqliteMigrateResult } from "./migrations.js";
export { SCHEMA_VERSION } from "./migrations.js";

/** Options of {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /** An open better-sqlite3 database (`new Database("selfassign.db")`). */
  readonly database: SqliteDatabaseLike;
  /**
   * How long a call waits for another connection's write lock before it fails (`SQLITE_BUSY`, which
   * the engine reports as `STORAGE_ERROR`, nothing changed), ms: SQLite's `busy_timeout`, set on this
   * connection. Default 30,000 (the engine's own `waitTimeoutMs`).
   */
  readonly busyTimeoutMs?: number;
}

/** The SQLite adapter: the storage contract plus `migrate()`. */
export interface SqliteStorage extends StorageAdapter {
  /** Bulk send, stale release, contact zones, campaign listing and event consumers. */
  readonly capabilities: Capabilities;
  /**
   * Bring the file's schema up to date (creating it when empty, moving an earlier version's rosters
   * into rows) and set WAL mode. Idempotent and safe to run from several connections and processes at
   * once. Returns the version found and the version now.
   */
  migrate(): SqliteMigrateResult;
}

/** Default busy timeout, ms. */
const BUSY_TIMEOUT_MS = 30_000;

/** Contract methods by name (a misspelt name does not compile). */
type Operations = { readonly [K in keyof StorageAdapter]?: (c: Connection, ...args: never[]) => unknown };

/**
 * The contract's methods, each an operation on the connection: writes run as one `BEGIN IMMEDIATE`
 * step, reads as one statement (WAL gives each a consistent snapshot, and reads never wait for writes).
 */
const WRITES = {
  commitOrganization: aggregates.commitOrganization,
  commitCampaign,
  importConversations: pool.importConversations,
  claim: pool.claim,
  updateConversations: pool.updateConversations,
  optOut: pool.optOut,
  leaseInitialSends: bulk.leaseInitialSends,
  acknowledgeInitialSends: bulk.acknowledgeInitialSends,
  releaseStale: bulk.releaseStale,
  saveConsumer: facts.saveConsumer,
  pruneFacts: facts.pruneFacts,
} satisfies Operations;
const READS = {
  getOrganization: aggregates.getOrganization,
  getCampaign: aggregates.getCampaign,
  findCampaignByToken: aggregates.findCampaignByToken,
  readRoster: aggregates.readRoster,
  getContext: aggregates.getContext,
  listCampaigns: aggregates.listCampaigns,
  listConversations: reads.listConversations,
  countConversations: reads.countConversations,
  readFacts: facts.readFacts,
  factHead: facts.factHead,
  readConsumer: facts.readConsumer,
} satisfies Operations;

/** Operations on a connection as adapter methods that answer with promises. */
type Methods<T> = { [K in keyof T]: T[K] extends (c: Connection, ...args: infer A) => infer R ? (...args: A) => Promise<R> : never };

function bind<T extends Record<string, (c: Connection, ...args: never[]) => unknown>>(operations: T, run: <R>(fn: () => R) => Promise<R>, c: Connection): Methods<T> {
  const methods: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(operations)) methods[name] = (...args: never[]) => run(() => op(c, ...args));
  return methods as Methods<T>;
}

/**
 * Create the SQLite adapter over an open better-sqlite3 database. Sets the connection's busy timeout
 * and foreign keys at once; call `migrate()` before the first call (on each connection you open).
 */
export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  if (typeof options?.database?.prepare !== "function") {
    throw new TypeError("createSqliteStorage needs { database }: an open better-sqlite3 Database.");
  }
  const timeout = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeout) || timeout < 0) throw new TypeError("busyTimeoutMs must be a whole number of milliseconds, 0 or more.");
  options.database.exec(`PRAGMA busy_timeout = ${timeout}; PRAGMA foreign_keys = ON;`);
  const c = new Connection(options.database, timeout);
  return {
    capabilities: { bulkSend: true, staleRelease: true, contactZones: true, campaignListing: true, eventConsumers: true },
    migrate: () => migrate(c),
    ...bind(WRITES, (fn) => c.step(fn), c),
    ...bind(READS, (fn) => c.read(fn), c),
    // Told after this connection's own steps; other connections and processes are seen by polling.
    onFacts: (listener) => c.listen(listener),
  };
}

/**
 * `selfassign/sqlite` — the SQLite storage adapter on better-sqlite3 12.x (an optional peer
 * dependency; pass your own open `Database`). Members and senders are rows; the schema is versioned
 * and `migrate()` moves an earlier version's data forward.
 * @module
 */
export { createSqliteStorage, SCHEMA_VERSION } from "./sqlite/adapter.js";
export type {
  SqliteDatabaseLike,
  SqliteMigrateResult,
  SqliteRunResult,
  SqliteStatementLike,
  SqliteStorage,
  SqliteStorageOptions,
  SqliteTransactionLike,
} from "./sqlite/adapter.js";

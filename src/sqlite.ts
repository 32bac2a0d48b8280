/**
 * `selfassign/sqlite` — the SQLite storage adapter on better-sqlite3 12.x (an optional peer
 * dependency; pass your own open `Database`).
 * @module
 */
export { createSqliteStorage } from "./sqlite/adapter.js";
export type {
  SqliteDatabaseLike,
  SqliteRunResult,
  SqliteStatementLike,
  SqliteStorage,
  SqliteStorageOptions,
  SqliteTransactionLike,
} from "./sqlite/adapter.js";

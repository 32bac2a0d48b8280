/**
 * `selfassign/postgres` — the PostgreSQL storage adapter. `pg` is an optional peer dependency: this
 * module is typed against the structural {@link PgPoolLike}, and you pass your own `pg.Pool`.
 * @module
 */
export { createPostgresStorage } from "./postgres/adapter.js";
export type { PostgresStorage, PostgresStorageOptions, MigrateResult } from "./postgres/adapter.js";
export type { PgPoolLike, PgClientLike, PgResultLike } from "./postgres/pg-like.js";
export { MIGRATIONS } from "./postgres/sql/migrations.js";
export type { Migration } from "./postgres/sql/migrations.js";

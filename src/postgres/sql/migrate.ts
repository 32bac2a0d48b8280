/**
 * Versioned, idempotent migrations. `migrate()` takes an advisory lock (so several app servers
 * starting at once do not race), creates the schema and a `schema_migrations` table, and applies each
 * missing version ({@link MIGRATIONS}) in one transaction.
 * @module
 */
import type { PgPoolLike } from "../pg-like.js";
import { MIGRATIONS } from "./migrations.js";
import { transaction } from "./transaction.js";

/** Apply every missing migration. Safe to call from several processes at once, and again later. */
export async function migrate(pool: PgPoolLike, schema: string): Promise<{ applied: number[] }> {
  return transaction(pool, async (client) => {
    // One migrator at a time across all processes sharing the database.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`selfassign:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations`)).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements) await client.query(statement.replaceAll("$schema", schema));
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
      applied.push(m.version);
    }
    return { applied };
  });
}

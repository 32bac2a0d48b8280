import pg from "pg";
import { inject } from "vitest";
import { MIGRATIONS, type PgClientLike, type PgPoolLike, createPostgresStorage, type PostgresStorage, type PostgresStorageOptions } from "../../src/postgres.js";
import { type HandOut, handOutQuery } from "../../src/postgres/sql/claim.js";
import type { InspectedConversation } from "../../src/testing/world.js";
import { CONVERSATION_STATUSES } from "../../src/types.js";

let counter = 0;

/**
 * A pool over `pool` whose checked-out clients pass each query's text to `onQuery`. One client object
 * per connection, as `pg.Pool` gives (the adapter remembers what a client prepared), or with
 * `perCheckout` a new one on every checkout, as a host's pool that wraps each checkout would.
 */
export function observedPool(pool: PgPoolLike, onQuery: (text: string) => void, options: { perCheckout?: boolean } = {}): PgPoolLike {
  const proxies = new WeakMap<object, PgClientLike>();
  return {
    async connect() {
      const client = await pool.connect();
      const proxy: PgClientLike = (options.perCheckout ? undefined : proxies.get(client)) ?? {
        query: (text, values) => (onQuery(text), client.query(text, values)),
        release: (destroy) => client.release(destroy),
        ...(client.on === undefined ? {} : { on: (e, l) => client.on!(e, l) }),
        ...(client.removeListener === undefined ? {} : { removeListener: (e, l) => client.removeListener!(e, l) }),
      };
      proxies.set(client, proxy);
      return proxy;
    },
    query: (text, values) => pool.query(text, values),
    on: (e, l) => pool.on?.(e, l),
  };
}

/** Adapter options a fixture passes through (the pool and schema are the fixture's). */
type StorageOptions = Omit<PostgresStorageOptions, "pool" | "schema">;

/**
 * A pool on the test server and a fresh schema, migrated; `close()` drops the schema and ends the
 * pools. `server()` opens another pool and adapter on the same schema: a second app server.
 */
/** Independent reader of persisted state: plain SQL, not the adapter's query methods. */
export function inspectConversations(pool: pg.Pool, schema: string): (campaignId: string) => Promise<InspectedConversation[]> {
  return async (campaignId) => {
    const { rows } = await pool.query<{ seq: string; contact_id: string; assignee: string | null; status: number }>(
      `SELECT seq, contact_id, assignee, status FROM "${schema}".conversations WHERE campaign_id = $1 ORDER BY seq`,
      [campaignId],
    );
    return rows.map((r) => ({ id: `${campaignId}:${r.seq}`, contactId: r.contact_id, holder: r.assignee, status: CONVERSATION_STATUSES[r.status]! }));
  };
}

/** A schema as an earlier release left it: migrations up to `version` applied and recorded, nothing else. */
export async function schemaAtVersion(pool: pg.Pool, schema: string, version: number): Promise<void> {
  const q = `"${schema}"`;
  await pool.query(`CREATE SCHEMA ${q}`);
  await pool.query(`CREATE TABLE ${q}.schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const client = await pool.connect();
  try {
    // In a transaction, as `migrate` applies them (versions 10 and 12 begin with LOCK TABLE).
    await client.query("BEGIN");
    for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
      for (const statement of m.statements) await client.query(statement.replaceAll("$schema", q));
      await client.query(`INSERT INTO ${q}.schema_migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
    }
    await client.query("COMMIT");
  } finally {
    client.release();
  }
}

export async function postgresFixture(options: { poolSize?: number } & StorageOptions = {}) {
  const url = inject("databaseUrl");
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const { poolSize, ...storageOptions } = options;
  const pool = new pg.Pool({ connectionString: url, max: poolSize ?? 8 });
  const others: pg.Pool[] = [];
  // No error listener of our own: the adapter must keep a dying connection from crashing the process.
  const storage: PostgresStorage = createPostgresStorage({ pool, schema, ...storageOptions });
  await storage.migrate();
  const inspect = inspectConversations(pool, schema);
  /** The campaign's sender user ids, in roster order, read with plain SQL. */
  const senders = async (campaignId: string): Promise<string[]> => {
    const { rows } = await pool.query<{ user_id: string }>(`SELECT user_id FROM "${schema}".campaign_senders WHERE campaign_id = $1 ORDER BY position`, [campaignId]);
    return rows.map((r) => r.user_id);
  };
  return {
    url,
    schema,
    pool,
    storage,
    inspect,
    senders,
    /** Another app server: its own pool (and adapter) on the same schema. */
    server(more: { poolSize?: number } & StorageOptions = {}): { pool: pg.Pool; storage: PostgresStorage } {
      const { poolSize: size, ...rest } = more;
      const other = new pg.Pool({ connectionString: url, max: size ?? 8 });
      others.push(other);
      return { pool: other, storage: createPostgresStorage({ pool: other, schema, ...rest }) };
    },
    async close() {
      await Promise.all(others.map((p) => p.end().catch(() => undefined)));
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

/**
 * The most buffers an index scan of `index` that found rows touches in a hand-out, re-run under
 * EXPLAIN (ANALYZE, BUFFERS) and rolled back: how much of the index a claim walks.
 */
export async function handOutScanBuffers(pool: pg.Pool, schema: string, handOut: HandOut, index: string): Promise<number> {
  const q = handOutQuery(`"${schema}"`, handOut);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: unknown }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${q.text}`, q.values);
    await client.query("ROLLBACK");
    const found: number[] = [];
    const walk = (n: Record<string, unknown>) => {
      if (n["Index Name"] === index && n["Node Type"] === "Index Scan" && Number(n["Actual Rows"]) > 0) found.push(Number(n["Shared Hit Blocks"]) + Number(n["Shared Read Blocks"]));
      for (const p of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(p);
    };
    walk(rows[0]!["QUERY PLAN"][0].Plan as Record<string, unknown>);
    if (found.length === 0) throw new Error(`no index scan of ${index} found a row in the hand-out's plan`);
    return Math.max(...found);
  } finally {
    client.release();
  }
}

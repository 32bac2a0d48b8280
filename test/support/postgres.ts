import pg from "pg";
import { inject } from "vitest";
import { createPostgresStorage, type PostgresStorage } from "../../src/postgres.js";
import type { InspectedConversation } from "../../src/testing/world.js";
import { CONVERSATION_STATUSES } from "../../src/types.js";

let counter = 0;

/** A pool on the test server and a fresh schema, migrated; `close()` drops the schema and ends the pool. */
export async function postgresFixture(options: { poolSize?: number; maxConcurrentClaims?: number } = {}) {
  const url = inject("databaseUrl");
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 8 });
  // No error listener of our own: the adapter must keep a dying connection from crashing the process.
  const storage: PostgresStorage = createPostgresStorage({
    pool,
    schema,
    ...(options.maxConcurrentClaims === undefined ? {} : { maxConcurrentClaims: options.maxConcurrentClaims }),
  });
  await storage.migrate();
  /** Independent reader of persisted state: plain SQL, not the adapter's query methods. */
  const inspect = async (campaignId: string): Promise<InspectedConversation[]> => {
    const { rows } = await pool.query<{ seq: string; contact_id: string; assignee: string | null; status: number }>(
      `SELECT seq, contact_id, assignee, status FROM "${schema}".conversations WHERE campaign_id = $1 ORDER BY seq`,
      [campaignId],
    );
    return rows.map((r) => ({ id: `${campaignId}:${r.seq}`, contactId: r.contact_id, holder: r.assignee, status: CONVERSATION_STATUSES[r.status]! }));
  };
  return {
    url,
    schema,
    pool,
    storage,
    inspect,
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

/**
 * Where the data lives: the engine's storage and the host's own message log, on SQLite (a file,
 * the default) or PostgreSQL (`DATABASE_URL=postgres://…`). Several app processes can share either.
 *
 * The message log is the host's table, not selfassign's: the texts sent and received, and the
 * provider's message ids (so a webhook delivered twice is recorded once).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { createEngine, type Engine } from "selfassign";
import { APP_ID } from "./seed.js";
import { createPostgresStorage } from "selfassign/postgres";
import { createSqliteStorage } from "selfassign/sqlite";

/** One logged text message. */
export interface LoggedMessage {
  readonly conversationId: string;
  readonly direction: "in" | "out";
  readonly text: string;
  readonly at: number;
}

/** The host's message log. */
export interface MessageLog {
  /** Log a message; `false` when a message with this provider id was logged already (a duplicate delivery). */
  add(m: LoggedMessage & { providerId?: string }): Promise<boolean>;
  /** Was this provider message id logged already? */
  seen(providerId: string): Promise<boolean>;
  /** The last `perConversation` messages of each conversation, oldest first. */
  recent(conversationIds: readonly string[], perConversation: number): Promise<Map<string, LoggedMessage[]>>;
}

export interface Backend {
  readonly engine: Engine;
  readonly log: MessageLog;
  /** "SQLite <file>" or "PostgreSQL <host>/<db>", for the start-up line. */
  readonly label: string;
  close(): Promise<void>;
}

export async function openBackend(options: { databaseUrl?: string; sqliteFile: string }): Promise<Backend> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(options.sqliteFile);
}

function group(rows: LoggedMessage[], perConversation: number): Map<string, LoggedMessage[]> {
  const out = new Map<string, LoggedMessage[]>();
  for (const row of rows) out.set(row.conversationId, [...(out.get(row.conversationId) ?? []), row]);
  for (const [id, list] of out) out.set(id, list.slice(-perConversation));
  return out;
}

function openSqlite(file: string): Backend {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file); // created on first start
  const storage = createSqliteStorage({ database: db });
  storage.migrate(); // creates selfassign's tables, or checks they are current (every process calls it)
  db.exec(`CREATE TABLE IF NOT EXISTS host_messages (
    id INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, direction TEXT NOT NULL, text TEXT NOT NULL,
    at INTEGER NOT NULL, provider_id TEXT UNIQUE);
    CREATE INDEX IF NOT EXISTS host_messages_conversation ON host_messages (conversation_id, id);`);
  const insert = db.prepare("INSERT INTO host_messages (conversation_id, direction, text, at, provider_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider_id) DO NOTHING");
  const seen = db.prepare("SELECT 1 FROM host_messages WHERE provider_id = ?");
  const log: MessageLog = {
    add: async (m) => insert.run(m.conversationId, m.direction, m.text, m.at, m.providerId ?? null).changes === 1,
    seen: async (providerId) => seen.get(providerId) !== undefined,
    recent: async (ids, n) => {
      if (ids.length === 0) return new Map();
      const rows = db
        .prepare(`SELECT conversation_id AS conversationId, direction, text, at FROM host_messages WHERE conversation_id IN (${ids.map(() => "?").join(",")}) ORDER BY id`)
        .all(...ids) as LoggedMessage[];
      return group(rows, n);
    },
  };
  return { engine: createEngine({ storage, systemActors: [APP_ID] }), log, label: `SQLite ${file}`, close: async () => void db.close() };
}

async function openPostgres(url: string): Promise<Backend> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on("error", (e) => console.error("[pg] idle client error:", e.message)); // a dropped idle connection must not crash us
  const storage = createPostgresStorage({ pool, schema: "selfassign" });
  await storage.migrate(); // safe from several processes at once
  const client = await pool.connect();
  try {
    // Our own table; the advisory lock keeps two processes starting together from racing on CREATE.
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('host_app_schema'))");
    await client.query(`CREATE TABLE IF NOT EXISTS host_messages (
      id BIGSERIAL PRIMARY KEY, conversation_id TEXT NOT NULL, direction TEXT NOT NULL, text TEXT NOT NULL,
      at BIGINT NOT NULL, provider_id TEXT UNIQUE);
      CREATE INDEX IF NOT EXISTS host_messages_conversation ON host_messages (conversation_id, id)`);
    await client.query("COMMIT");
  } finally {
    client.release();
  }
  const log: MessageLog = {
    add: async (m) =>
      (await pool.query("INSERT INTO host_messages (conversation_id, direction, text, at, provider_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_id) DO NOTHING", [
        m.conversationId, m.direction, m.text, m.at, m.providerId ?? null,
      ])).rowCount === 1,
    seen: async (providerId) => ((await pool.query("SELECT 1 FROM host_messages WHERE provider_id = $1", [providerId])).rowCount ?? 0) > 0,
    recent: async (ids, n) => {
      const { rows } = await pool.query(
        `SELECT conversation_id AS "conversationId", direction, text, at::float8 AS at FROM host_messages WHERE conversation_id = ANY($1) ORDER BY id`,
        [ids],
      );
      return group(rows as LoggedMessage[], n);
    },
  };
  const where = new URL(url);
  return { engine: createEngine({ storage, systemActors: [APP_ID] }), log, label: `PostgreSQL ${where.host}${where.pathname}`, close: () => pool.end() };
}

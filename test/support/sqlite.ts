import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createSqliteStorage, type SqliteStorage, type SqliteStorageOptions } from "../../src/sqlite.js";
import { CONVERSATION_STATUSES } from "../../src/types.js";
import type { AdapterFixture } from "./adapters.js";

/** A database file in a fresh temporary directory; `remove` deletes the directory (with the -wal and -shm files). */
export function sqliteFile(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "selfassign-sqlite-"));
  return { file: join(dir, "selfassign.db"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A connection to `file` and its adapter, migrated. */
export function openSqlite(file: string, options: Omit<SqliteStorageOptions, "database"> = {}): { db: Database.Database; storage: SqliteStorage } {
  const db = new Database(file);
  const storage = createSqliteStorage({ database: db, ...options });
  storage.migrate();
  return { db, storage };
}

/** Every conversation of a campaign as stored, read by plain SQL on another connection (not through the adapter). */
export function inspectSqlite(reader: Database.Database) {
  const query = reader.prepare("SELECT seq, contact_id, assignee, status FROM conversations WHERE campaign_id = ? ORDER BY seq");
  return async (campaignId: string) =>
    (query.all(campaignId) as { seq: number; contact_id: string; assignee: string | null; status: number }[]).map((r) => ({
      id: `${campaignId}:${r.seq}`,
      contactId: r.contact_id,
      holder: r.assignee,
      status: CONVERSATION_STATUSES[r.status]!,
    }));
}

/** A SQLite file in a temporary directory, migrated; inspected through a second, read-only connection. */
export async function sqliteFixture(): Promise<AdapterFixture> {
  const { file, remove } = sqliteFile();
  const { db, storage } = openSqlite(file);
  const reader = new Database(file, { readonly: true });
  return {
    storage,
    inspect: inspectSqlite(reader),
    close: async () => {
      reader.close();
      db.close();
      remove();
    },
  };
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createSqliteStorage } from "../../src/sqlite.js";
import { CONVERSATION_STATUSES } from "../../src/types.js";
import type { AdapterFixture } from "./adapters.js";

/** A SQLite file in a temporary directory, migrated; inspected through a second, read-only connection. */
export async function sqliteFixture(): Promise<AdapterFixture> {
  const dir = mkdtempSync(join(tmpdir(), "selfassign-sqlite-"));
  const file = join(dir, "selfassign.db");
  const db = new Database(file);
  const storage = createSqliteStorage({ database: db });
  storage.migrate();
  const reader = new Database(file, { readonly: true });
  const query = reader.prepare("SELECT seq, contact_id, assignee, status FROM conversations WHERE campaign_id = ? ORDER BY seq");
  return {
    storage,
    inspect: async (campaignId) =>
      (query.all(campaignId) as { seq: number; contact_id: string; assignee: string | null; status: number }[]).map((r) => ({
        id: `${campaignId}:${r.seq}`,
        contactId: r.contact_id,
        holder: r.assignee,
        status: CONVERSATION_STATUSES[r.status]!,
      })),
    close: async () => {
      reader.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

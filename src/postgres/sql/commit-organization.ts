/**
 * An organization commit: a new or changed aggregate and/or member rows, in one transaction. The
 * aggregate is version-checked by its `UPDATE … WHERE version = $n` (a concurrent change waits for
 * the row and then finds another version: `conflict`); member rows are never versioned (`rosters.ts`).
 * @module
 */
import type { OrganizationCommit, OrganizationOutcome } from "../../storage/aggregates.js";
import { memberFacts } from "../../storage/facts.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { insertFacts } from "./facts.js";
import { changeMembers } from "./rosters.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

/** Write the aggregate part; `null` when it went through, else the outcome that rolls back. */
async function writeAggregate(client: PgClientLike, schema: string, commit: OrganizationCommit): Promise<OrganizationOutcome | null> {
  const org = commit.next;
  if (org === null) {
    // A member change only: the organization must exist (organizations are never deleted).
    const { rowCount } = await client.query(`SELECT 1 FROM ${schema}.organizations WHERE id = $1`, [commit.orgId]);
    return (rowCount ?? 0) === 0 ? { kind: "conflict" } : null;
  }
  if (commit.expectedVersion === null) {
    const { rowCount } = await client.query(
      `INSERT INTO ${schema}.organizations (id, name, version, default_batch_size, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
      [org.id, org.name, org.version, org.defaultBatchSize, org.createdAt],
    );
    return (rowCount ?? 0) === 0 ? { kind: "exists" } : null;
  }
  const { rowCount } = await client.query(
    `UPDATE ${schema}.organizations SET name = $3, version = $4, default_batch_size = $5 WHERE id = $1 AND version = $2`,
    [org.id, commit.expectedVersion, org.name, org.version, org.defaultBatchSize],
  );
  return (rowCount ?? 0) === 0 ? { kind: "conflict" } : null;
}

/** Commit an organization change; see {@link OrganizationCommit}. */
export async function commitOrganization(pool: PgPoolLike, schema: string, commit: OrganizationCommit, tx: TxOptions): Promise<OrganizationOutcome> {
  return transaction<OrganizationOutcome>(
    pool,
    async (client) => {
      const refused = await writeAggregate(client, schema, commit);
      if (refused !== null) return new Rollback(refused);
      const change = commit.members;
      const result = change === null ? null : await changeMembers(client, schema, commit.orgId, change, commit.context.at);
      if (result?.kind === "refused") return new Rollback<OrganizationOutcome>(result);
      const done = result ?? { added: [], existing: [], before: null };
      await insertFacts(client, schema, [...commit.facts, ...(change === null ? [] : memberFacts(commit.context, change, done))]);
      return { kind: "committed", added: done.added, existing: done.existing, before: done.before };
    },
    tx,
  );
}

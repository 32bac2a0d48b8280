/**
 * An aggregate change and bulk moves in one transaction, against the campaign row locked
 * `FOR UPDATE` and version-checked. Each move selects its rows in hand-out order with `FOR UPDATE`
 * (waiting for in-flight claims rather than skipping them, so "unassign all" means all) and deals
 * them round-robin to the targets in one `UPDATE`.
 * @module
 */
import type { CampaignCommit, CommitOutcome, MoveSpec, Moved } from "../../storage/contract.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { bulkSendRunning } from "../../core/campaign.js";
import { checkVersion, startBulkSend, writeCampaign } from "./aggregates.js";
import { sqlLimit } from "./claim.js";
import { insertEvents } from "./events.js";
import { CONVERSATION_COLUMNS, type ConversationRow, statusCode, statusSql, toConversation } from "./rows.js";
import { Rollback, transaction } from "./transaction.js";

async function runMove(client: PgClientLike, schema: string, campaignId: string, move: MoveSpec, now: number): Promise<Moved[]> {
  if (move.from.kind === "unassigned" && move.to === null) return [];
  const source =
    move.from.kind === "unassigned"
      ? "assignee IS NULL AND rank <= 2"
      : move.from.kind === "all_holders"
        ? "assignee IS NOT NULL"
        : "assignee = ANY($4::text[])";
  const limit = move.limit === null ? "" : `LIMIT ${sqlLimit(move.limit)}`;
  const targets = move.to ?? [];
  const { rows } = await client.query<ConversationRow & { from_holder: string | null; n: string }>(
    `WITH picked AS MATERIALIZED (
       SELECT seq, assignee AS from_holder, row_number() OVER (ORDER BY rank, sort_key, seq) AS n
       FROM (
         SELECT seq, assignee, rank, sort_key FROM ${schema}.conversations
         WHERE campaign_id = $1 AND ${source} AND ${statusSql(move.statuses)}
         ORDER BY rank, sort_key, seq ${limit}
         FOR UPDATE OF conversations
       ) s
     ), dealt AS (
       SELECT seq, from_holder, n,
              CASE WHEN cardinality($2::text[]) = 0 THEN NULL ELSE ($2::text[])[((n - 1) % cardinality($2::text[])) + 1] END AS to_holder
       FROM picked
     )
     UPDATE ${schema}.conversations c
     SET assignee = d.to_holder,
         assigned_at = CASE WHEN d.to_holder IS NULL THEN NULL
                            WHEN d.to_holder IS NOT DISTINCT FROM d.from_holder THEN c.assigned_at
                            ELSE $3::bigint END
     FROM dealt d WHERE c.campaign_id = $1 AND c.seq = d.seq
     RETURNING ${CONVERSATION_COLUMNS.split(", ").map((col) => `c.${col}`).join(", ")}, d.from_holder, d.n`,
    move.from.kind === "holders" ? [campaignId, targets, now, move.from.holderIds] : [campaignId, targets, now],
  );
  if (move.to !== null && rows.some((r) => r.status === statusCode("opted_out"))) {
    throw new Error("storage contract: opted-out conversations are never assigned (O3)");
  }
  return rows
    .sort((a, b) => Number(a.n) - Number(b.n))
    .map((r) => ({ conversation: toConversation(r), fromHolder: r.from_holder }));
}

/** Commit an aggregate change and moves; see {@link CampaignCommit}. */
export async function commitCampaign(pool: PgPoolLike, schema: string, commit: CampaignCommit): Promise<CommitOutcome> {
  return transaction<CommitOutcome>(pool, async (client) => {
    if ((await checkVersion(client, schema, commit.campaignId, commit.expectedVersion, "FOR UPDATE")) === null) {
      return new Rollback({ kind: "conflict" });
    }
    if (commit.next !== null) await writeCampaign(client, schema, commit.next);
    const moved: Moved[][] = [];
    for (const move of commit.moves) moved.push(await runMove(client, schema, commit.campaignId, move, commit.now));
    await insertEvents(client, schema, commit.events(moved));
    if (commit.next !== null && bulkSendRunning(commit.next)) await startBulkSend(client, schema, commit.campaignId, commit.now);
    return { kind: "committed", moved };
  });
}

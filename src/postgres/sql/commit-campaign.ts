/**
 * A campaign commit — a new or replaced aggregate, sender rows, bulk moves — in one transaction under
 * the campaign's exclusive advisory lock (`locks.ts`): it waits for the claims, joins and updates in
 * flight, new ones queue behind it, and once it commits none of them decided on the old version
 * (they read the version again under their shared lock). Each move selects its rows in hand-out
 * order with `FOR UPDATE` (waiting for in-flight row locks rather than skipping them, so "unassign
 * all" means all) and deals them round-robin to the targets in one `UPDATE`.
 * @module
 */
import { bulkSendRunning } from "../../core/campaign.js";
import type { MoveSpec, Moved } from "../../core/moves.js";
import type { CampaignCommit, CampaignOutcome } from "../../storage/aggregates.js";
import { movedFacts, senderFacts } from "../../storage/facts.js";
import { statusCode } from "../../storage/rules.js";
import type { Campaign } from "../../types.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { insertCampaignRow, loadCampaign, writeCampaign } from "./aggregates.js";
import { startBulkSend } from "./bulk-pending.js";
import { insertFacts } from "./facts.js";
import { lockCampaign } from "./locks.js";
import { changeSenders, moveTargets } from "./rosters.js";
import { moveQuery } from "./conversation-writes.js";
import { type ConversationRow, toConversation } from "./rows.js";
import { Rollback, type TxOptions, transaction } from "./transaction.js";

async function runMove(client: PgClientLike, schema: string, campaignId: string, move: MoveSpec, targets: readonly string[], now: number): Promise<Moved[]> {
  if (move.to === null ? move.from.kind === "unassigned" : targets.length === 0) return []; // nothing to take, or nobody to give to
  const q = moveQuery(schema, campaignId, move, targets, now);
  const { rows } = await client.query<ConversationRow & { from_holder: string | null; n: string }>(q.text, q.values);
  if (move.to !== null && rows.some((r) => r.status === statusCode("opted_out"))) {
    throw new Error("storage contract: opted-out conversations are never assigned (O3)");
  }
  return rows.sort((a, b) => Number(a.n) - Number(b.n)).map((r) => ({ conversation: toConversation(r), fromHolder: r.from_holder }));
}

/** The stored campaign after the aggregate part of a commit, or why nothing may be written. */
async function aggregate(client: PgClientLike, schema: string, commit: CampaignCommit): Promise<Campaign | Rollback<CampaignOutcome>> {
  if (commit.expectedVersion === null) {
    if (commit.next === null) throw new TypeError("commitCampaign: inserting a campaign needs `next`.");
    return (await insertCampaignRow(client, schema, commit.next)) ? commit.next : new Rollback({ kind: "exists" });
  }
  // A plain read: under the exclusive lock nothing else writes the campaign.
  const stored = await loadCampaign(client, schema, commit.campaignId);
  if (stored === null || stored.version !== commit.expectedVersion) return new Rollback({ kind: "conflict" });
  if (commit.next === null) return stored;
  await writeCampaign(client, schema, commit.next);
  return commit.next;
}

/** Commit an aggregate change, a sender change and moves; see {@link CampaignCommit}. */
export async function commitCampaign(pool: PgPoolLike, schema: string, commit: CampaignCommit, tx: TxOptions): Promise<CampaignOutcome> {
  return transaction<CampaignOutcome>(
    pool,
    async (client) => {
      await lockCampaign(client, commit.campaignId, "exclusive");
      let campaign = await aggregate(client, schema, commit);
      if (campaign instanceof Rollback) return campaign;
      const facts = [...commit.facts];
      let added: readonly string[] = [];
      if (commit.senders !== null) {
        const r = await changeSenders(client, schema, campaign, commit.senders, commit.now);
        if (r.kind === "refused") return new Rollback<CampaignOutcome>(r);
        added = r.added;
        if (commit.senders.kind === "add") facts.push(...senderFacts(commit.context, added, commit.senders.via));
      }
      const moved: Moved[][] = [];
      for (const move of commit.moves) {
        const targets = await moveTargets(client, schema, commit.campaignId, move.to);
        if (targets.kind === "refused") return new Rollback<CampaignOutcome>({ kind: "refused", reason: "not_senders", userIds: targets.userIds });
        const m = await runMove(client, schema, commit.campaignId, move, targets.ids, commit.now);
        moved.push(m);
        facts.push(...movedFacts(commit.context, move, m));
      }
      await insertFacts(client, schema, facts);
      // The bulk-send rule (C6): a launch with nothing pending finishes its bulk send in this step.
      if (commit.next !== null && bulkSendRunning(commit.next)) campaign = (await startBulkSend(client, schema, commit.campaignId, commit.now)).finished ?? campaign;
      return { kind: "committed", campaign, added, moved };
    },
    tx,
  );
}

/**
 * One campaign commit (`commitCampaign`): the version check, the aggregate, the sender rows, the bulk
 * moves in order, their facts and the bulk-send rule — one `BEGIN IMMEDIATE` step. A refusal (a
 * sender who is not a member, a target who is not a sender) rolls the whole step back.
 * @module
 */
import {
  movedFacts,
  senderFacts,
  statusCode,
  type CampaignCommit,
  type CampaignOutcome,
  type MoveSpec,
  type Moved,
} from "../adapter.js";
import { type Connection, Rollback, jsonList } from "./database.js";
import { recordFacts } from "./facts.js";
import { applyBulkSendRule, saveCampaign } from "./aggregates.js";
import { COLUMNS, type ConversationRow, ORDER, assign, statusCondition, toCampaign, toConversation } from "./rows.js";

const OPTED_OUT = statusCode("opted_out");

function refuse(reason: "not_members" | "not_senders", userIds: readonly string[]): never {
  throw new Rollback<CampaignOutcome>({ kind: "refused", reason, userIds });
}

/** Users of `userIds` (a JSON list) with no row in `table` for `scope`, in the order given. */
function missing(c: Connection, table: "members" | "senders", scope: string, userIds: readonly string[]): string[] {
  const column = table === "members" ? "org_id" : "campaign_id";
  return c
    .all<{ id: string }>(`SELECT j.value AS id FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.${column} = ? AND r.user_id = j.value) ORDER BY j.key`, jsonList(userIds), scope)
    .map((r) => r.id);
}

/** Apply the sender change; returns the users it added. */
function changeSenders(c: Connection, orgId: string, commit: CampaignCommit): string[] {
  const change = commit.senders;
  if (change === null) return [];
  if (change.kind === "remove") {
    if (c.run("DELETE FROM senders WHERE campaign_id = ? AND user_id = ?", commit.campaignId, change.userId) === 0) refuse("not_senders", [change.userId]);
    return [];
  }
  const strangers = missing(c, "members", orgId, change.userIds);
  if (strangers.length > 0) refuse("not_members", strangers);
  return change.userIds.filter(
    (userId) => c.run("INSERT OR IGNORE INTO senders (campaign_id, user_id, added_at, via) VALUES (?, ?, ?, ?)", commit.campaignId, userId, commit.now, change.via) > 0,
  );
}

/** A move's targets: `null` to unassign; every sender in roster order for `"senders"`; named ones must all be senders. */
function targets(c: Connection, campaignId: string, to: MoveSpec["to"]): readonly string[] | null {
  if (to === null) return null;
  if (to === "senders") return c.all<{ user_id: string }>("SELECT user_id FROM senders WHERE campaign_id = ? ORDER BY pos", campaignId).map((r) => r.user_id);
  const strangers = missing(c, "senders", campaignId, to);
  if (strangers.length > 0) refuse("not_senders", strangers);
  return to;
}

/** Run one move: select in hand-out order, hand out round-robin (or unassign); a conversation already with its target stays as it is. */
function runMove(c: Connection, campaignId: string, move: MoveSpec, now: number): Moved[] {
  const to = targets(c, campaignId, move.to);
  if ((move.from.kind === "unassigned" && to === null) || to?.length === 0) return [];
  const source =
    move.from.kind === "unassigned"
      ? "conversations_pool WHERE assignee IS NULL"
      : `conversations_holder WHERE ${move.from.kind === "all_holders" ? "assignee IS NOT NULL" : "assignee IN (SELECT value FROM json_each(?))"}`;
  const rows = c.all<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations INDEXED BY ${source} AND campaign_id = ? AND ${statusCondition(move.statuses)} ${ORDER} LIMIT ?`,
    ...(move.from.kind === "holders" ? [jsonList(move.from.holderIds)] : []),
    campaignId,
    move.limit === null ? -1 : Math.max(0, Math.floor(move.limit)),
  );
  return rows.map((r, i) => {
    const target = to === null ? null : to[i % to.length]!;
    // The engine never asks for this (with a target it never moves `all`): a fault, and the step rolls back.
    if (target !== null && r.status === OPTED_OUT) throw new Error("storage contract: opted-out conversations are never assigned (O3)");
    return { conversation: target === r.assigneeId ? toConversation(r) : assign(c, [r], target, now)[0]!, fromHolder: r.assigneeId };
  });
}

/** Commit a campaign change in the current step. */
export function commitCampaign(c: Connection, commit: CampaignCommit): CampaignOutcome {
  const stored = c.one<{ version: number; data: string }>("SELECT version, data FROM campaigns WHERE id = ?", commit.campaignId);
  if (commit.expectedVersion === null) {
    if (stored !== undefined) return { kind: "exists" };
    if (commit.next === null) return { kind: "conflict" };
  } else if (stored === undefined || stored.version !== commit.expectedVersion) {
    return { kind: "conflict" };
  }
  let campaign = commit.next ?? toCampaign(stored!.data);
  if (commit.next !== null) saveCampaign(c, commit.next, stored === undefined);
  const added = changeSenders(c, campaign.orgId, commit);
  const moved = commit.moves.map((m) => runMove(c, commit.campaignId, m, commit.now));
  recordFacts(c, [
    ...commit.facts,
    ...(commit.senders?.kind === "add" ? senderFacts(commit.context, added, commit.senders.via) : []),
    ...commit.moves.flatMap((m, i) => movedFacts(commit.context, m, moved[i]!)),
  ]);
  campaign = applyBulkSendRule(c, campaign, commit.now);
  return { kind: "committed", campaign, added, moved };
}

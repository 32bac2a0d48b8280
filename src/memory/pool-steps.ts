/**
 * The in-memory adapter's writes to a campaign's table that follow the contract's shared rules: a
 * bulk move (launch split, unassign, reassign) and one change to a named conversation.
 * @module
 */
import type { MoveSpec, Moved } from "../core/moves.js";
import type { ConversationChange, ConversationChangeResult } from "../storage/pool.js";
import { replyAtAfter } from "../storage/rules.js";
import type { CampaignTable } from "./campaign-table.js";

/** Run one move (see `MoveSpec`); `senders` are the campaign's senders in roster order (for `to: "senders"`). */
export function runMove(table: CampaignTable, move: MoveSpec, senders: readonly string[], now: number): Moved[] {
  const targets = move.to === "senders" ? senders : move.to;
  if ((move.from.kind === "unassigned" && targets === null) || (targets !== null && targets.length === 0)) return [];
  const slots =
    move.from.kind === "unassigned"
      ? table.unassignedSlots(move.statuses, move.limit ?? table.size)
      : table.heldSlots(move.from.kind === "all_holders" ? "all" : move.from.holderIds, move.statuses);
  const chosen = move.limit === null ? slots : slots.slice(0, move.limit);
  return chosen.map((s, i): Moved => {
    const fromHolder = table.holderOf(s);
    const to = targets === null ? null : targets[i % targets.length]!;
    if (to !== null && table.statusOf(s) === "opted_out") throw new Error("storage contract: opted-out conversations are never assigned (O3)");
    table.setHolder(s, to, now);
    return { conversation: table.conversation(s), fromHolder };
  });
}

/** Apply one change to a named conversation (conditions, then status, then release). */
export function applyUpdate(table: CampaignTable, change: ConversationChange, now: number): ConversationChangeResult {
  const s = table.slotOf(change.conversationId);
  if (s === -1) return { kind: "not_found" };
  // `slotOf` accepts only the canonical id, so the caller's string is the id (one less string per change).
  const before = table.conversation(s, change.conversationId);
  if (change.heldBy !== undefined && (before.assigneeId === null || (change.heldBy !== null && before.assigneeId !== change.heldBy))) {
    return { kind: "not_held", current: before };
  }
  if (change.status !== undefined && !change.status.from.includes(before.status)) return { kind: "invalid", current: before };
  if (change.status !== undefined) table.setStatus(s, change.status.to, replyAtAfter(before, change.status.to, now) ?? NaN);
  if (change.release === true && table.holderOf(s) !== null) table.setHolder(s, null, now);
  return { kind: "changed", before, after: table.conversation(s, before.id) };
}

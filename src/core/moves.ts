/**
 * Bulk moves of conversations (launch split, unassign, reassign, sender removal) as data the core
 * decides and storage executes, plus the events that describe what moved.
 * @module
 */
import type { AssignReason, Conversation, EventDraft, UnassignReason } from "../types.js";
import { type Context, event } from "./decision.js";

/**
 * Which conversations a move or listing considers, by status: `open` = not closed and not opted
 * out; `started` = open and past its initial message (needs reply, initial sent, replied).
 */
export type StatusSet = "open" | "started" | "needs_reply" | "not_started" | "all";

/**
 * Where a move takes conversations from: the unassigned pool, the named holders, or every holder.
 */
export type MoveSource =
  | {
      /** The unassigned pool. */
      readonly kind: "unassigned";
    }
  | {
      /** Conversations held by the named holders. */
      readonly kind: "holders";
      /** The holders. */
      readonly holderIds: readonly string[];
    }
  | {
      /** Every held conversation. */
      readonly kind: "all_holders";
    };

/**
 * One bulk move, executed inside a {@link CampaignCommit}.
 *
 * The adapter selects the conversations matching `from` and `statuses`, in hand-out order (S4:
 * needs reply by reply time, then not started, then the rest, by import order; closed and opted-out
 * last), takes at most `limit` of them, and gives the i-th one to `to[i % to.length]` — or makes
 * them all unassigned when `to` is `null`. A conversation whose target is its current holder keeps
 * its holder and its `assignedAt`. Opted-out conversations are never given to a holder: with a
 * non-null `to` the engine never asks for `statuses: "all"`.
 */
export interface MoveSpec {
  /** Source of the conversations. */
  readonly from: MoveSource;
  /** Status filter: `open` = not closed and not opted out. */
  readonly statuses: StatusSet;
  /** Most conversations to move; `null` for all that match. */
  readonly limit: number | null;
  /** Targets in round-robin order, or `null` to unassign. */
  readonly to: readonly string[] | null;
}

/** One conversation moved by a {@link MoveSpec}. */
export interface Moved {
  /** The conversation, as it is after the move. */
  readonly conversation: Conversation;
  /** Its holder before the move. */
  readonly fromHolder: string | null;
}


function groupBy<T>(items: readonly T[], key: (item: T) => string | null): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    let list = groups.get(k);
    if (list === undefined) groups.set(k, (list = []));
    list.push(item);
  }
  return groups;
}

/** One `conversations.assigned` event per receiving texter. */
export function assignedEvents(
  ctx: Context,
  orgId: string,
  campaignId: string,
  conversations: readonly Conversation[],
  reason: AssignReason,
): EventDraft[] {
  return [...groupBy(conversations, (c) => c.assigneeId)].map(([texterId, list]) =>
    event("conversations.assigned", ctx, orgId, campaignId, {
      texterId,
      conversationIds: list.map((c) => c.id),
      reason,
    }),
  );
}

/** One `conversations.unassigned` event per former holder. */
export function unassignedEvents(
  ctx: Context,
  orgId: string,
  campaignId: string,
  moved: readonly Moved[],
  reason: UnassignReason,
): EventDraft[] {
  return [...groupBy(moved, (m) => m.fromHolder)].map(([texterId, list]) =>
    event("conversations.unassigned", ctx, orgId, campaignId, {
      texterId,
      conversationIds: list.map((m) => m.conversation.id),
      reason,
    }),
  );
}

/** One `conversations.reassigned` event per target; conversations that stayed put are left out. */
export function reassignedEvents(
  ctx: Context,
  orgId: string,
  campaignId: string,
  moved: readonly Moved[],
): EventDraft[] {
  const real = moved.filter((m) => m.fromHolder !== m.conversation.assigneeId);
  return [...groupBy(real, (m) => m.conversation.assigneeId)].map(([toTexterId, list]) =>
    event("conversations.reassigned", ctx, orgId, campaignId, {
      toTexterId,
      moves: list.map((m) => ({ conversationId: m.conversation.id, fromTexterId: m.fromHolder })),
    }),
  );
}

/**
 * Bulk moves of conversations (launch split, unassign all, reassign, sender removal) as data: the core
 * decides them, storage executes them in one atomic step and records the facts they imply.
 * @module
 */
import type { Conversation } from "../types.js";

/**
 * Which conversations a move or listing considers, by status: `open` = not closed and not opted
 * out; `started` = open and past its initial message (needs reply, initial sent, replied).
 */
export type StatusSet = "open" | "started" | "needs_reply" | "not_started" | "all";

/** Where a move takes conversations from: the unassigned pool, the named holders, or every holder. */
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

/** Why a move happens; it names the facts the move records (`movedFacts`). */
export type MoveReason = "launch" | "reassign" | "unassign_all" | "sender_removed";

/**
 * One bulk move, executed inside a campaign commit.
 *
 * The adapter selects the conversations matching `from` and `statuses`, in hand-out order (S4:
 * needs reply by reply time, then not started, then the rest, by import order; closed and opted out
 * last), takes at most `limit` of them, and gives the i-th one to the i-th target round-robin — or
 * makes them all unassigned when `to` is `null`. `to: "senders"` means every sender of the campaign in
 * the order they were added (after the commit's sender change), and nothing moves when there is none;
 * named targets must all be senders (else the commit is refused with `not_senders`). A conversation
 * whose target is its current holder keeps its holder and its `assignedAt`. A move from the unassigned
 * pool to `null` moves nothing. Opted-out conversations are never given to a holder: with a non-null
 * `to` the engine never asks for `statuses: "all"`.
 */
export interface MoveSpec {
  /** Source of the conversations. */
  readonly from: MoveSource;
  /** Status filter. */
  readonly statuses: StatusSet;
  /** Most conversations to move; `null` for all that match. */
  readonly limit: number | null;
  /** Targets in round-robin order, `"senders"` for every sender in roster order, or `null` to unassign. */
  readonly to: readonly string[] | "senders" | null;
  /** Why (the facts it records). */
  readonly reason: MoveReason;
}

/** One conversation moved by a {@link MoveSpec}. */
export interface Moved {
  /** The conversation, as it is after the move. */
  readonly conversation: Conversation;
  /** Its holder before the move. */
  readonly fromHolder: string | null;
}

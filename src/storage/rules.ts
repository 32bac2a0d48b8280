/**
 * The rules every adapter applies the same way, in one place: the claim's gate and cap, the hand-out
 * and listing order, the reply-time rule, status sets, the T2 zone test, conversation ids and
 * cursors. Pure functions; exported from `selfassign/adapter`.
 * @module
 */
import type { StatusSet } from "../core/moves.js";
import { handOutRank } from "../core/policy.js";
import { withinTextingHours } from "../core/time.js";
import type { Conversation, ConversationStatus } from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import type { ClaimRequest, ZoneRule } from "./pool.js";

/** What a texter holds in a campaign, for the claim's checks. */
export interface HeldCounts {
  /** Conversations held, any status. */
  readonly held: number;
  /** Held and `not_started`. */
  readonly notStarted: number;
  /** Held and `needs_reply`. */
  readonly needsReply: number;
}

/** A claim is blocked for a reason, or may take up to `room` conversations. */
export type ClaimRoom =
  | {
      /** Blocked. */
      readonly kind: "blocked";
      /** Why. */
      readonly reason: "batch_unfinished" | "cap_reached" | "holding";
    }
  | {
      /** May claim. */
      readonly kind: "room";
      /** At most this many. */
      readonly room: number;
    };

/**
 * The claim's checks on what the texter holds, in order: holding none (a join, L3), the gate (S5),
 * then the cap (S7). Call it inside the claim's atomic step with counts read in that step.
 */
export function claimRoom(req: Pick<ClaimRequest, "join" | "gate" | "maxHeld" | "limit">, counts: HeldCounts): ClaimRoom {
  if (req.join !== null && counts.held > 0) return { kind: "blocked", reason: "holding" };
  const { maxNotStarted, maxNeedsReply } = req.gate;
  if ((maxNotStarted !== null && counts.notStarted > maxNotStarted) || (maxNeedsReply !== null && counts.needsReply > maxNeedsReply)) {
    return { kind: "blocked", reason: "batch_unfinished" };
  }
  const room = req.maxHeld === null ? req.limit : Math.min(req.limit, req.maxHeld - counts.held);
  return room <= 0 ? { kind: "blocked", reason: "cap_reached" } : { kind: "room", room };
}

/** Status code: the status's index in `CONVERSATION_STATUSES` (what the SQL adapters store). */
export function statusCode(status: ConversationStatus): number {
  return CONVERSATION_STATUSES.indexOf(status);
}

/**
 * Listing rank (S4): the hand-out rank (0 needs reply, 1 not started, 2 the rest), then 3 closed,
 * 4 opted out. Listings and moves sort by it, then by {@link sortKey}, then by import order.
 */
export function orderRank(status: ConversationStatus): 0 | 1 | 2 | 3 | 4 {
  return handOutRank(status) ?? (status === "closed" ? 3 : 4);
}

/** Second sort key within a rank: the reply time for needs-reply (oldest reply first), else the import order. */
export function sortKey(c: Pick<Conversation, "status" | "replyAt" | "seq">): number {
  return c.status === "needs_reply" ? c.replyAt! : c.seq;
}

/** Hand-out order (S4, S6): rank, then reply time for needs-reply, then import order. */
export function compareHandOut(a: Conversation, b: Conversation): number {
  return orderRank(a.status) - orderRank(b.status) || sortKey(a) - sortKey(b) || a.seq - b.seq;
}

/** `replyAt` after a status change (M2): entering `needs_reply` sets it to `now`, staying keeps it, any other status clears it. */
export function replyAtAfter(before: Pick<Conversation, "status" | "replyAt">, to: ConversationStatus, now: number): number | null {
  if (to !== "needs_reply") return null;
  return before.status === "needs_reply" ? before.replyAt : now;
}

/** True when a status is in a status set (`open` = not closed, not opted out; `started` = open and past its initial message). */
export function inStatusSet(set: StatusSet, status: ConversationStatus): boolean {
  const rank = handOutRank(status);
  switch (set) {
    case "all":
      return true;
    case "open":
      return rank !== null;
    case "started":
      return rank === 0 || rank === 2;
    case "needs_reply":
    case "not_started":
      return status === set;
  }
}

/** The hand-out ranks of the conversations a status set selects from the pool. */
export function ranksOf(set: StatusSet): readonly (0 | 1 | 2)[] {
  switch (set) {
    case "needs_reply":
      return [0];
    case "not_started":
      return [1];
    case "started":
      return [0, 2];
    default:
      return [0, 1, 2];
  }
}

/**
 * The T2 test of a {@link ZoneRule}: a function from an IANA zone to whether a contact there may get
 * an initial message now, remembering each zone's answer (call it per distinct zone or per row alike).
 */
export function zoneOpen(rule: ZoneRule): (zone: string) => boolean {
  const known = new Map<string, boolean>();
  return (zone) => {
    let open = known.get(zone);
    if (open === undefined) {
      open = withinTextingHours(rule.now, { timeZone: zone, textingHoursStart: rule.textingHoursStart, textingHoursEnd: rule.textingHoursEnd, startsAt: null, endsAt: null });
      known.set(zone, open);
    }
    return open;
  };
}

/** A conversation's id: `<campaignId>:<seq>` (opaque to hosts; every built-in adapter uses it). */
export function conversationId(campaignId: string, seq: number | string): string {
  return `${campaignId}:${seq}`;
}

/** A conversation id's parts. */
export interface ConversationKey {
  /** The campaign. */
  readonly campaignId: string;
  /** The import position. */
  readonly seq: number;
}

/** Split a conversation id into campaign and import position, or `null` when it is not one. */
export function parseConversationId(id: string): ConversationKey | null {
  const cut = id.lastIndexOf(":");
  if (cut <= 0) return null;
  const rest = id.slice(cut + 1);
  if (!/^(0|[1-9][0-9]{0,14})$/.test(rest)) return null;
  return { campaignId: id.slice(0, cut), seq: Number(rest) };
}

/** The position of a conversation in hand-out order, as a page cursor: `<rank>.<sortKey>.<seq>`. */
export function cursorOf(c: Conversation): string {
  return `${orderRank(c.status)}.${sortKey(c)}.${c.seq}`;
}

/** A hand-out cursor's parts. */
export interface CursorParts {
  /** The listing rank (`orderRank`). */
  readonly rank: number;
  /** The sort key within the rank (`sortKey`). */
  readonly sortKey: number;
  /** The import position. */
  readonly seq: number;
}

/** A cursor's parts, or `null` when it is not one of {@link cursorOf}'s. */
export function parseCursor(cursor: string): CursorParts | null {
  const m = /^([0-4])\.(-?[0-9]{1,16})\.([0-9]{1,15})$/.exec(cursor);
  return m === null ? null : { rank: Number(m[1]), sortKey: Number(m[2]), seq: Number(m[3]) };
}

/** True when `c` comes after the cursor in hand-out order. */
export function isAfter(c: Conversation, cursor: CursorParts): boolean {
  const rank = orderRank(c.status);
  if (rank !== cursor.rank) return rank > cursor.rank;
  const key = sortKey(c);
  if (key !== cursor.sortKey) return key > cursor.sortKey;
  return c.seq > cursor.seq;
}

/**
 * Pure policy: limits, hand-out rank, the finished-batch gate, status transitions, opt-out
 * keywords. No I/O, no clock, no randomness.
 * @module
 */
import type { Campaign, Conversation, ConversationStatus, GatePolicy, Role } from "../types.js";

/** Smallest and largest batch sizes (O2, S1). */
export const BATCH_SIZE_MIN = 1;
/** Largest batch size (O2, S1). */
export const BATCH_SIZE_MAX = 5000;
/** The organization default batch size until set (O2). */
export const DEFAULT_BATCH_SIZE = 300;

/** True for a whole number in 1..5000 (O2, S1). */
export function isValidBatchSize(value: unknown): value is number {
  return (
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= BATCH_SIZE_MIN &&
    value <= BATCH_SIZE_MAX
  );
}

/**
 * Hand-out rank (S4): 0 = needs reply, 1 = not started, 2 = the rest (initial sent, replied),
 * `null` = never handed out (closed, opted out).
 */
export function handOutRank(status: ConversationStatus): 0 | 1 | 2 | null {
  switch (status) {
    case "needs_reply":
      return 0;
    case "not_started":
      return 1;
    case "initial_sent":
    case "replied":
      return 2;
    default:
      return null;
  }
}

/**
 * The finished-batch gate (S5) as limits on what the texter holds. `null` = no limit.
 */
export function gateLimits(policy: GatePolicy): {
  maxNotStarted: number | null;
  maxNeedsReply: number | null;
} {
  switch (policy) {
    case "no-pending-initials":
      return { maxNotStarted: 0, maxNeedsReply: null };
    case "no-pending-work":
      return { maxNotStarted: 0, maxNeedsReply: 0 };
    case "none":
      return { maxNotStarted: null, maxNeedsReply: null };
  }
}

/** True if the member's role may manage (A6): owners and admins. */
export function canManage(role: Role | null | undefined): boolean {
  return role === "owner" || role === "admin";
}

/** Campaign states in which requests and invite joins may be served (C7; `bulk_sending` per C6). */
export function acceptsRequests(campaign: Campaign): boolean {
  return campaign.status === "active" || campaign.status === "bulk_sending";
}

/** Messaging events the host reports (M1). */
export type MessagingEvent = "initial_sent" | "contact_replied" | "texter_replied" | "closed";

/**
 * Status transitions (M1): for each messaging event, the statuses it applies to and the result.
 * A contact reply to a closed conversation reopens it as `needs_reply` (somebody must answer).
 * Opted-out conversations accept nothing (final, O3).
 */
export const TRANSITIONS: Readonly<
  Record<MessagingEvent, { from: readonly ConversationStatus[]; to: ConversationStatus }>
> = {
  initial_sent: { from: ["not_started"], to: "initial_sent" },
  contact_replied: { from: ["initial_sent", "replied", "needs_reply", "closed"], to: "needs_reply" },
  texter_replied: { from: ["needs_reply"], to: "replied" },
  closed: { from: ["not_started", "initial_sent", "needs_reply", "replied"], to: "closed" },
};

/** Automatic opt-out keywords (M3). */
export const OPT_OUT_KEYWORDS: readonly string[] = [
  "STOP",
  "STOPALL",
  "UNSUBSCRIBE",
  "CANCEL",
  "END",
  "QUIT",
];

/**
 * True when a contact's first reply is an automatic opt-out (M3): the whole message, trimmed and
 * ignoring case and surrounding punctuation, is one of {@link OPT_OUT_KEYWORDS}. "stop." and
 * " Stop " match; "please stop texting me" does not (a person should read that one).
 */
export function isAutoOptOut(text: string): boolean {
  if (typeof text !== "string") return false;
  const word = text
    .trim()
    .replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, "")
    .toUpperCase();
  return OPT_OUT_KEYWORDS.includes(word);
}

/**
 * What a contact's reply means (M1, M3): with `autoOptOut` and the text of a *first* reply (the
 * conversation is `initial_sent`), an opt-out keyword opts the contact out organization-wide (O3) and
 * is not a reply; anything else is a reply (`needs_reply`).
 */
export function decideReply(current: Pick<Conversation, "status">, text: string | undefined, autoOptOut: boolean): "opt_out" | "reply" {
  return autoOptOut && text !== undefined && current.status === "initial_sent" && isAutoOptOut(text) ? "opt_out" : "reply";
}

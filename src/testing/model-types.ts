/**
 * The reference model's shapes: its conversations and campaigns, what it predicts (a value, a
 * refusal or an error code), and its own statement of the hand-out order (S4) — written
 * independently of the adapter kit's rules, so a mistake there cannot hide here.
 * @module
 */
import type { CampaignStatus, ConversationStatus, GatePolicy, Role, StatusFilter } from "../types.js";
import type { ErrorCode } from "../errors.js";
import { handOutRank } from "../core/policy.js";

/** A conversation in the model. */
export interface ModelConversation {
  /** The contact (key within the campaign). */
  readonly contactId: string;
  /** Import order. */
  readonly seq: number;
  /** Status. */
  status: ConversationStatus;
  /** Holder or `null`. */
  holder: string | null;
  /** Time of the unanswered reply, for `needs_reply`. */
  replyAt: number | null;
}

/** A campaign in the model. */
export interface ModelCampaign {
  /** Campaign id (the engine's). */
  readonly id: string;
  /** Lifecycle state. */
  status: CampaignStatus;
  /** Self assignment on. */
  enabled: boolean;
  /** Batch size, `null` until first enabled. */
  batchSize: number | null;
  /** Gate policy. */
  gate: GatePolicy;
  /** Per-texter cap. */
  cap: number | null;
  /** Self release allowed. */
  allowSelfRelease: boolean;
  /** Senders in roster order. */
  senders: string[];
  /** Current invite token when enabled. */
  token: string | null;
  /** Revoked tokens. */
  revoked: string[];
  /** Conversations in import order. */
  conversations: ModelConversation[];
  /** Idempotency keys of successful requests: `texter\0key` → contact ids. */
  idempotency: Map<string, string[]>;
}

/** An expected outcome: a value, a refusal reason, or a thrown error code. */
export type Expected<T> =
  | {
      /** Success. */
      readonly kind: "ok";
      /** The expected result. */
      readonly value: T;
    }
  | {
      /** A typed refusal (requests and joins). */
      readonly kind: "refused";
      /** The refusal reason. */
      readonly reason: string;
    }
  | {
      /** An `AssignmentError`. */
      readonly kind: "error";
      /** Its code. */
      readonly code: ErrorCode;
    };

/** A predicted launch. */
export interface LaunchPrediction {
  /** Conversations split among senders. */
  readonly assigned: number;
}

/** Counts for imports. */
export interface ImportCounts {
  /** New conversations. */
  readonly created: number;
  /** Skipped contacts. */
  readonly skipped: number;
}

/** A predicted request result. */
export interface RequestPrediction {
  /** Contact ids handed out, in order. */
  readonly contactIds: string[];
  /** Whether it replays an earlier key. */
  readonly replayed: boolean;
}

/** A predicted invite join. */
export interface JoinPrediction {
  /** The campaign joined. */
  readonly campaignId: string;
  /** Contact ids of the first batch. */
  readonly contactIds: string[];
  /** `assigned`, `already_holding` or `nothing_available`. */
  readonly firstBatch: string;
  /** Whether the member already was a sender. */
  readonly alreadySender: boolean;
}

/** Per-holder counts in {@link ModelOverview}. */
export interface ModelSenderCounts {
  /** The holder. */
  readonly userId: string;
  /** Conversations held. */
  readonly held: number;
  /** Held, not started. */
  readonly notStarted: number;
  /** Held, needing a reply. */
  readonly needsReply: number;
}

/** The model's overview (A1). */
export interface ModelOverview {
  /** All conversations. */
  readonly total: number;
  /** Unassigned ones. */
  readonly unassigned: number;
  /** Unassigned, not started. */
  readonly unassignedNotStarted: number;
  /** Unassigned, needing a reply. */
  readonly unassignedNeedsReply: number;
  /** Senders in roster order, then other holders. */
  readonly senders: ModelSenderCounts[];
}

/** An expected success. */
export const ok = <T>(value: T): Expected<T> => ({ kind: "ok", value });
/** An expected refusal. */
export const refused = (reason: string): Expected<never> => ({ kind: "refused", reason });
/** An expected error. */
export const error = (code: ErrorCode): Expected<never> => ({ kind: "error", code });

function orderKey(c: ModelConversation): [number, number, number] {
  const rank = handOutRank(c.status) ?? (c.status === "closed" ? 3 : 4);
  return [rank, rank === 0 ? c.replyAt! : 0, c.seq];
}

/** Sort conversations in hand-out order (S4): needs reply by reply time, not started, the rest; closed, opted out last. */
export function handOutOrder(list: readonly ModelConversation[]): ModelConversation[] {
  return [...list].sort((a, b) => {
    const ka = orderKey(a);
    const kb = orderKey(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
  });
}

/** True for an open conversation (not closed, not opted out). */
export function isOpen(c: ModelConversation): boolean {
  return handOutRank(c.status) !== null;
}

/** True when a conversation matches a reassignment filter (A3). */
export function matchesFilter(c: ModelConversation, filter: StatusFilter): boolean {
  return filter === "any" ? isOpen(c) : c.status === filter;
}


/** A predicted member row (`addMember`): who and with which role. */
export interface MemberPrediction {
  /** The user. */
  readonly userId: string;
  /** Their role. */
  readonly role: Role;
}

/** A predicted `addMembers` result, each list sorted (the order within is not part of the contract). */
export interface AddMembersPrediction {
  /** Users who became members. */
  readonly added: string[];
  /** Users who were members already. */
  readonly existing: string[];
}

/** A predicted `addSenders` result, sorted. */
export interface AddSendersPrediction {
  /** Users who became senders. */
  readonly added: string[];
}

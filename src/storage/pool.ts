/**
 * Contract, part 2: the conversation pool. Intents, not rows: import, claim, change named
 * conversations, opt out, list. Each write is one atomic step that decides on current data inside the
 * step, so a lost race shows up as fewer conversations claimed, never as an overwrite.
 * @module
 */
import type { ContactInput, Conversation, ConversationStatus } from "../types.js";
import type { StatusSet } from "../core/moves.js";
import type { FactContext } from "./facts.js";

/**
 * T2 as plain data: a contact whose IANA zone is known may get an initial message only while it is
 * inside these texting hours there at `now`. Evaluate it with `zoneOpen` from `selfassign/adapter`
 * (once per distinct zone, not per conversation).
 */
export interface ZoneRule {
  /** The instant, epoch ms. */
  readonly now: number;
  /** Opening, "HH:MM" local time. */
  readonly textingHoursStart: string;
  /** Closing, "HH:MM" local time. */
  readonly textingHoursEnd: string;
}

/** An import of contacts (C2) into a draft or active campaign. */
export interface ImportRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** The version the engine checked; a different stored version means `conflict`, nothing written. */
  readonly expectedVersion: number;
  /** Contacts in import order; a contact already in the campaign (or earlier in this list) is skipped. Opted-out contacts (O3) arrive `opted_out`. */
  readonly contacts: readonly ContactInput[];
  /** Also return the conversation id of every contact (new or not), in input order. */
  readonly returnIds: boolean;
  /** Who and when, for the `conversations.imported` fact ({@link importedFacts}). */
  readonly context: FactContext;
}

/** Result of {@link StorageAdapter.importConversations}. */
export type ImportOutcome =
  | {
      /** The stored campaign version differed; nothing written. */
      readonly kind: "conflict";
    }
  | {
      /** The import was written. */
      readonly kind: "imported";
      /** New conversations. */
      readonly created: number;
      /** Contacts skipped because the campaign already held them (or they were listed before). */
      readonly skipped: number;
      /** With `returnIds`: one entry per input contact, in input order; otherwise empty. */
      readonly ids: readonly {
        /** The contact. */
        readonly contactId: string;
        /** Its conversation in the campaign. */
        readonly conversationId: string;
        /** True when this import created it. */
        readonly created: boolean;
      }[];
    };

/**
 * A claim: *Request Conversations* (S3) or an invite's first batch (L3), decided and committed in
 * one atomic step together with the texter's gate and cap (S5, S7), serialized per (campaign, texter).
 *
 * Checked inside the step in this order, the first that applies giving the outcome: the campaign
 * version (`conflict`); a used idempotency key (`replayed`); the texter's standing — a request needs a
 * sender, a join a member (`refused`; a join then adds the sender row); what the texter holds, by
 * `claimRoom` from `selfassign/adapter` (`blocked`); then the hand-out (`claimed`, possibly empty). A
 * claim with `limit: 0` claims nothing: the engine uses it to replay a key. A claim that claims nothing
 * and adds no sender writes nothing.
 *
 * Facts: `claimFacts(context, join, joined, texterId, claimed)` — `sender.joined` when a join added
 * the sender, `conversations.assigned` for what was claimed.
 */
export interface ClaimRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** Who receives the conversations. */
  readonly texterId: string;
  /** The campaign version the engine decided on; a different stored version means `conflict`, nothing written. */
  readonly expectedVersion: number;
  /**
   * `null`: a request; the texter must be a sender (else `refused`, `not_a_sender`). `"invite"`: a join
   * (L3); the texter must be a member (else `refused`, `not_a_member`), becomes a sender if not one yet
   * (that is written whatever the claim's outcome), and is given conversations only when holding none
   * (else `blocked`, `holding`).
   */
  readonly join: "invite" | null;
  /** Most conversations to claim (the batch size). */
  readonly limit: number;
  /** Most conversations the texter may hold after the claim (S7), or `null`. */
  readonly maxHeld: number | null;
  /** The finished-batch gate (S5) as limits on what the texter already holds; over a limit → `blocked`. */
  readonly gate: {
    /** Most `not_started` conversations the texter may already hold (`null` = no limit). */
    readonly maxNotStarted: number | null;
    /** Most `needs_reply` conversations the texter may already hold (`null` = no limit). */
    readonly maxNeedsReply: number | null;
  };
  /** Hand-out ranks the claim may take: 0 = needs reply, 1 = not started, 2 = the rest (T3, C6). */
  readonly ranks: readonly (0 | 1 | 2)[];
  /** T2: not-started conversations whose contact's zone is closed by this rule stay in the pool; `null` = no restriction. */
  readonly contactZones: ZoneRule | null;
  /**
   * Idempotency key (S8) or `null`. If a claim by this texter on this campaign with this key committed
   * before, return `replayed` with its conversations and change nothing; a successful claim stores its
   * result under the key in the same step.
   */
  readonly idempotencyKey: string | null;
  /** The engine's clock (becomes `assignedAt`). */
  readonly now: number;
  /** Who and when, for the facts. */
  readonly context: FactContext;
  /**
   * The caller's `AbortSignal`, if any: a hint for adapters that queue claims; not stored. An adapter
   * may drop a claim still waiting in its queue when the signal aborts, rejecting with `ABORTED`
   * (nothing changed); once a claim's step has begun it runs to the end.
   */
  readonly signal?: AbortSignal;
}

/** Result of {@link StorageAdapter.claim}. */
export type ClaimOutcome =
  | {
      /** The stored campaign version differed; nothing written. */
      readonly kind: "conflict";
    }
  | {
      /** The key was used before; nothing written. */
      readonly kind: "replayed";
      /** What the earlier claim returned. */
      readonly conversations: readonly Conversation[];
    }
  | {
      /** The texter may not claim; nothing written. */
      readonly kind: "refused";
      /** `not_a_sender` (a request) or `not_a_member` (a join). */
      readonly reason: "not_a_sender" | "not_a_member";
    }
  | {
      /** The gate, the cap or "holding" stopped it (a join's new sender row is still written). */
      readonly kind: "blocked";
      /** Which check. */
      readonly reason: "batch_unfinished" | "cap_reached" | "holding";
      /** True when a join added the sender. */
      readonly joined: boolean;
    }
  | {
      /** The claim ran (possibly claiming nothing: the pool had nothing assignable). */
      readonly kind: "claimed";
      /** The conversations now held by the texter, in hand-out order. */
      readonly conversations: readonly Conversation[];
      /** True when a join added the sender. */
      readonly joined: boolean;
    };

/** One change to a named conversation: conditions, then a status change and/or a release. */
export interface ConversationChange {
  /** The conversation (of the update's campaign). */
  readonly conversationId: string;
  /** Condition: a user id it must be held by, or `null` for "held by anybody"; omit for none. */
  readonly heldBy?: string | null;
  /** A status change (M1): applies only from these statuses (else `invalid`). Entering `needs_reply` sets `replyAt` = now; staying in it keeps it; any other status clears it. */
  readonly status?: {
    /** Statuses it may be in. */
    readonly from: readonly ConversationStatus[];
    /** The new status. */
    readonly to: ConversationStatus;
  };
  /** Make it unassigned (S9 or an admin's targeted release). */
  readonly release?: boolean;
}

/**
 * Changes to named conversations of one campaign, in one atomic step: status changes (M1, M2) and
 * releases (S9). With `atomic`, any change that cannot apply means none is written. Facts
 * ({@link updateFacts}): `conversation.status_changed` for each status that changed,
 * `conversations.unassigned` per former holder for releases; and the bulk-send rule applies.
 */
export interface ConversationUpdate {
  /** The campaign. */
  readonly campaignId: string;
  /** The changes, applied in order (a later change sees an earlier one's effect). */
  readonly changes: readonly ConversationChange[];
  /** All or nothing. */
  readonly atomic: boolean;
  /** Why releases happen (the `conversations.unassigned` reason). */
  readonly releaseReason: "self_release" | "admin_release";
  /** The engine's clock. */
  readonly now: number;
  /** Who and when, for the facts. */
  readonly context: FactContext;
}

/** What became of one {@link ConversationChange}. */
export type ConversationChangeResult =
  | {
      /** Applied (or, with `applied: false` on the update, would have been). */
      readonly kind: "changed";
      /** The conversation before. */
      readonly before: Conversation;
      /** The conversation after. */
      readonly after: Conversation;
    }
  | {
      /** No such conversation in the campaign. */
      readonly kind: "not_found";
    }
  | {
      /** The `heldBy` condition failed. */
      readonly kind: "not_held";
      /** The conversation as it is. */
      readonly current: Conversation;
    }
  | {
      /** Its status is not in `from`. */
      readonly kind: "invalid";
      /** The conversation as it is. */
      readonly current: Conversation;
    };

/** Result of {@link StorageAdapter.updateConversations}. */
export interface UpdateOutcome {
  /** False when an atomic update wrote nothing because some change could not apply. */
  readonly applied: boolean;
  /** One result per change, in order. */
  readonly results: readonly ConversationChangeResult[];
}

/** An organization-wide opt-out (O3). Facts: {@link optOutFacts}; the bulk-send rule applies. */
export interface OptOutRequest {
  /** The organization. */
  readonly orgId: string;
  /** Every conversation with this contact in the organization's campaigns becomes `opted_out`; later imports arrive opted out. */
  readonly contactId: string;
  /** The engine's clock. */
  readonly now: number;
  /** Who and when. */
  readonly context: FactContext;
}

/** Result of {@link StorageAdapter.optOut}. */
export interface OptOutOutcome {
  /** Conversations that became `opted_out`, as they were before. */
  readonly changed: readonly Conversation[];
  /** True when the organization had this opt-out before (then nothing changed, and no fact is recorded). */
  readonly alreadyOptedOut: boolean;
}

/** Which of a campaign's conversations to list, in hand-out order (see `compareHandOut`). */
export interface ConversationQuery {
  /** The campaign. */
  readonly campaignId: string;
  /** Held by this user; `null` for unassigned ones; omit for any. */
  readonly holder?: string | null;
  /** Status filter. */
  readonly statuses: StatusSet;
  /** Only this exact status; omit for any (within `statuses`). */
  readonly status?: ConversationStatus;
  /** Only these conversation ids; omit for any. */
  readonly ids?: readonly string[];
  /** Only these contacts; omit for any. */
  readonly contactIds?: readonly string[];
  /** Continue after this cursor (a previous page's `cursor`; one the adapter did not make gives an empty page). */
  readonly after?: string | null;
  /** Most rows. */
  readonly limit: number;
}

/** A page of conversations and the cursor of the next page, or `null` at the end. */
export interface ConversationPage {
  /** The conversations, in hand-out order. */
  readonly rows: readonly Conversation[];
  /** Pass as `after` for the next page; `null` when there is none. */
  readonly cursor: string | null;
}

/** Counts of a campaign's conversations by holder (`null` = unassigned) and status; the overview is built from them. */
export interface ConversationCounts {
  /** One row per (holder, status) that has conversations. */
  readonly rows: readonly {
    /** The holder, or `null`. */
    readonly holder: string | null;
    /** The status. */
    readonly status: ConversationStatus;
    /** How many. */
    readonly count: number;
  }[];
}

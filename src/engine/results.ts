/**
 * What the engine's operations return. Refusals a texter meets in normal use are results (`ok: false`
 * with a reason); faults and bad input are `AssignmentError`s.
 * @module
 */
import type { JoinRefusalReason, RefusalReason } from "../core/assignment.js";
import type { BulkSendWait } from "../core/campaign.js";
import type { MessagingEvent } from "../core/policy.js";
import type { Campaign, CampaignStatus, Conversation, ConversationStatus, EventType, Member, Sender } from "../types.js";

/** Result of {@link Engine.requestConversations}: conversations, or a typed refusal (S2). */
export type RequestResult =
  | {
      /** Conversations were assigned (or replayed). */
      readonly ok: true;
      /** The conversations now held by the texter, in hand-out order (S4). */
      readonly conversations: readonly Conversation[];
      /** True when this is the stored result of an earlier request with the same idempotency key (S8). */
      readonly replayed: boolean;
    }
  | {
      /** Refused; nothing changed. */
      readonly ok: false;
      /** Why (S2 order). */
      readonly reason: RefusalReason;
      /** With `outside_texting_hours` (T1): when texting hours next open, epoch ms. */
      readonly opensAt?: number;
    };

/** Result of {@link Engine.joinByInvite}. */
export type JoinResult =
  | {
      /** The member is a sender on the campaign. */
      readonly ok: true;
      /** The campaign joined. */
      readonly campaignId: string;
      /** True if the member was a sender already (joining twice is harmless, L3). */
      readonly alreadySender: boolean;
      /** The first batch (empty when none was given). */
      readonly conversations: readonly Conversation[];
      /**
       * `assigned`: a first batch was given; `already_holding`: the member holds conversations in the
       * campaign, so none (L3, I7); `nothing_available`: the pool is empty.
       */
      readonly firstBatch: "assigned" | "already_holding" | "nothing_available";
    }
  | {
      /** Refused; nothing changed. */
      readonly ok: false;
      /** Why (L2). */
      readonly reason: JoinRefusalReason;
      /** With `outside_texting_hours` (T1): when texting hours next open, epoch ms (the same link works then). */
      readonly opensAt?: number;
    };

/** Result of {@link Engine.importContacts}. */
export interface ImportResult {
  /** New conversations. */
  readonly created: number;
  /** Contacts skipped because the campaign already held them (C2). */
  readonly skipped: number;
  /** Only with `returnIds: true`: every contact's conversation id, in input order. */
  readonly ids?: readonly {
    /** The contact. */
    readonly contactId: string;
    /** Its conversation. */
    readonly conversationId: string;
    /** True when this import created it. */
    readonly created: boolean;
  }[];
}

/** Result of {@link Engine.launchCampaign}. */
export interface LaunchResult {
  /** The campaign after launch. */
  readonly campaign: Campaign;
  /** Conversations split among senders (C4). */
  readonly assigned: number;
}

/** Result of {@link Engine.removeSender}. */
export interface RemoveSenderResult {
  /** The campaign after the removal. */
  readonly campaign: Campaign;
  /** Their conversations that went back to the pool. */
  readonly unassigned: number;
  /** Their conversations that went to other senders. */
  readonly reassigned: number;
}

/** Result of {@link Engine.enableInviteLink}. */
export interface InviteLinkResult {
  /** The token to put in the link. */
  readonly token: string;
  /** The campaign after the change. */
  readonly campaign: Campaign;
}

/** Result of {@link Engine.unassignAll}. */
export interface UnassignResult {
  /** Conversations that became unassigned. */
  readonly unassigned: number;
}

/** Result of {@link Engine.reassignSome} and {@link Engine.reassignAll}. */
export interface ReassignResult {
  /** Conversations that changed holder. */
  readonly moved: number;
}

/** Result of {@link Engine.releaseConversations}. */
export interface ReleaseResult {
  /** Conversations released to the pool. */
  readonly released: number;
}

/** Result of {@link Engine.acknowledgeInitialSends}. */
export interface AcknowledgeResult {
  /** Conversations now `initial_sent`. */
  readonly sent: number;
  /** Ids not acknowledged: unknown, not leased to this worker, or already sent. */
  readonly rejected: readonly string[];
  /** Initial messages still pending. */
  readonly pending: number;
  /** True when this acknowledgement finished the bulk send and the campaign became active. */
  readonly finished: boolean;
}

/** Result of {@link Engine.getBulkSendProgress}. */
export interface BulkSendProgress {
  /** Conversations that need or needed an initial message (opted-out ones excluded). */
  readonly total: number;
  /** Initial messages acknowledged (or conversations otherwise past not-started). */
  readonly sent: number;
  /** Still waiting. */
  readonly pending: number;
  /** The campaign's state (`bulk_sending` until done, then `active`). */
  readonly status: CampaignStatus;
  /** Why the bulk send cannot go on now (campaign-wide reasons only), or `null`. */
  readonly waiting: BulkSendWait | null;
}

/**
 * Result of {@link Engine.bulkSend}. `finished: false, waiting: null` means the remaining initial
 * messages are leased to other workers: call again after their lease time to pick up what a crashed
 * worker left.
 */
export interface BulkSendResult {
  /** Initial messages this worker sent and acknowledged. */
  readonly sent: number;
  /**
   * True when `signal` aborted after the worker had begun: it stopped after the send in flight and
   * acknowledged what it sent; what it leased and did not send is leased again after `leaseMs`. False
   * when that acknowledgement finished the bulk send (`finished: true`). (Aborted before it began,
   * `bulkSend` fails with `ABORTED`, nothing changed.)
   */
  readonly aborted: boolean;
  /** True when the bulk send is complete (the campaign is active, or resumes as active). */
  readonly finished: boolean;
  /** Why it stopped before finishing, and when to call again; `null` when finished or nothing was waiting on time. */
  readonly waiting: BulkSendWait | null;
}

/** Result of {@link Engine.releaseStale}. */
export interface StaleReleaseResult {
  /** Conversations returned to the pool. */
  readonly released: number;
  /** The released conversation ids by former holder, one entry per texter in the order first released. */
  readonly byTexter: readonly {
    /** The former holder. */
    readonly texterId: string;
    /** What went back to the pool. */
    readonly conversationIds: readonly string[];
  }[];
}

/** Result of {@link Engine.optOut}. */
export interface OptOutResult {
  /** Conversations that became `opted_out`. */
  readonly conversations: number;
}

/** Which of a texter's conversations {@link Engine.getAssignments} lists (S6). */
export type AssignmentViewFilter = "all" | "actionable";

/** Result of {@link Engine.addMembers}. */
export interface AddMembersResult {
  /** Users added. */
  readonly added: readonly string[];
  /** Users who were members already (unchanged). */
  readonly existing: readonly string[];
}

/** Result of {@link Engine.addSenders}. */
export interface AddSendersResult {
  /** The campaign. */
  readonly campaign: Campaign;
  /** Users who became senders (not those who were senders already). */
  readonly added: readonly string[];
}

/** A page of a listing and the cursor of the next one (`null` at the end). */
export interface Page<T> {
  /** The rows. */
  readonly items: readonly T[];
  /** Pass as `cursor`, with the same query, for the next page; `null` when there is none. Opaque and URL-safe; a listing refuses a cursor it did not return for that query (`INVALID_INPUT`). */
  readonly cursor: string | null;
}

/** A page of members. */
export type MemberPage = Page<Member>;

/** A page of senders. */
export type SenderPage = Page<Sender>;

/** One messaging event for {@link Engine.recordMessages}. */
export interface MessageInput {
  /** The conversation. */
  readonly conversationId: string;
  /** What happened (M1). */
  readonly event: MessagingEvent;
  /** A contact's reply text (for M3). */
  readonly text?: string;
  /** With a first reply's `text`: an opt-out keyword opts the contact out instead (M3, O3). */
  readonly autoOptOut?: boolean;
}

/** What happened to one messaging event (see {@link Engine.recordMessages}). */
export type MessageOutcome =
  | {
      /** The status changed (or stayed `needs_reply` with a new reply, M2). */
      readonly result: "recorded";
      /** The conversation after. */
      readonly conversation: Conversation;
    }
  | {
      /** The event does not apply to the conversation's status (a late or duplicate event); nothing changed. */
      readonly result: "ignored";
      /** The conversation as it is. */
      readonly conversation: Conversation;
      /** Its status. */
      readonly status: ConversationStatus;
    }
  | {
      /** The contact's reply was an opt-out keyword (M3): the contact is opted out organization-wide. */
      readonly result: "opted_out";
      /** The conversation after. */
      readonly conversation: Conversation;
    }
  | {
      /** With an `actorId`: the conversation is not held by that texter; nothing changed. */
      readonly result: "not_held";
      /** The conversation id. */
      readonly conversationId: string;
    }
  | {
      /** No such conversation. */
      readonly result: "not_found";
      /** The conversation id. */
      readonly conversationId: string;
    };

/** Filters of an event read: only one organization's, one campaign's, or some types. */
export interface EventQuery {
  /** Only this organization's events. */
  readonly orgId?: string;
  /** Only this campaign's events. */
  readonly campaignId?: string;
  /** Only these types. */
  readonly types?: readonly EventType[];
}

/** Who acts: the id of the user your service authenticated. */
export interface ActorInput {
  /** The acting user. */
  readonly actorId: string;
}

/** An operation on a campaign by an actor, that may wait its turn. */
export interface CampaignInput extends ActorInput {
  /** The campaign. */
  readonly campaignId: string;
  /** Aborts the wait (the call then fails with `ABORTED`, having changed nothing). */
  readonly signal?: AbortSignal;
}

/** Where a page of a listing starts, and how long it is. */
export interface PageInput {
  /** The `cursor` of the previous page of the same query; omit (or `null`) for the first. Any other cursor is refused (`INVALID_INPUT`). */
  readonly cursor?: string | null;
  /** Most items (default 100, at most 1,000). */
  readonly limit?: number;
}

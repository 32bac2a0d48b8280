/**
 * The storage contract: what an adapter must do, intent by intent. Every write method is atomic —
 * it either commits everything it was asked to (state and events) or nothing — and every one that
 * decides on current data (claims, moves, releases) makes that decision inside the same atomic step,
 * so a lost race shows up as fewer conversations claimed or a `conflict`, never as an overwrite.
 *
 * See `docs/custom-adapter.md` for a walk-through.
 * @module
 */
import type {
  Campaign,
  ContactInput,
  Conversation,
  ConversationStatus,
  ConversationsOverview,
  EventDraft,
  Organization,
  SelfAssignEvent,
} from "../types.js";
import type { MoveSpec, Moved, StatusSet } from "../core/moves.js";

export type { MoveSource, MoveSpec, Moved, StatusSet } from "../core/moves.js";

/** An atomic change to a campaign: optionally a new aggregate, optionally bulk moves. */
export interface CampaignCommit {
  /** The campaign. */
  readonly campaignId: string;
  /** The version the engine decided on; a different stored version means `conflict`, nothing written. */
  readonly expectedVersion: number;
  /** The new aggregate (its `version` is `expectedVersion + 1`), or `null` to leave it as it is. */
  readonly next: Campaign | null;
  /** Moves to run in order, after the aggregate is replaced. */
  readonly moves: readonly MoveSpec[];
  /** The engine's clock, epoch milliseconds (used as `assignedAt`). */
  readonly now: number;
  /** Builds the events to record in the same atomic step, from what each move moved. */
  readonly events: (moved: readonly (readonly Moved[])[]) => EventDraft[];
}

/** Result of {@link StorageAdapter.commitCampaign}. */
export type CommitOutcome =
  | {
      /** The stored version differed; nothing was written. */
      readonly kind: "conflict";
    }
  | {
      /** Everything was written. */
      readonly kind: "committed";
      /** What each move moved, in the order of `moves`. */
      readonly moved: readonly (readonly Moved[])[];
    };

/**
 * A claim: *Request Conversations* (S3) or an invite's first batch (L3), decided and committed in
 * one atomic step together with the texter's gate and cap (S5, S7), serialized per (campaign, texter).
 */
export interface ClaimRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** Who receives the conversations. */
  readonly texterId: string;
  /** The campaign version the engine checked; a different stored version means `conflict`. */
  readonly expectedVersion: number;
  /**
   * A new aggregate to commit with the claim (an invite join adds the sender), or `null`. When the
   * version matches it is committed whatever the claim's outcome, with the events.
   */
  readonly next: Campaign | null;
  /** Most conversations to claim (the batch size). */
  readonly limit: number;
  /** Most conversations the texter may hold after the claim (S7), or `null`. */
  readonly maxHeld: number | null;
  /**
   * The finished-batch gate (S5) as limits on what the texter already holds: at most this many
   * `not_started`, at most this many `needs_reply` (`null` = no limit). Over a limit → `blocked`.
   */
  readonly gate: {
    /** Most `not_started` conversations the texter may already hold. */
    readonly maxNotStarted: number | null;
    /** Most `needs_reply` conversations the texter may already hold. */
    readonly maxNeedsReply: number | null;
  };
  /**
   * Hand-out ranks the claim may take: 0 = needs reply, 1 = not started, 2 = the rest (T3: before a
   * campaign's start `[0, 2]`, after its end `[0]`). Conversations of other ranks are left alone.
   */
  readonly ranks: readonly (0 | 1 | 2)[];
  /**
   * T2: whether a contact in this IANA time zone may get an initial message now. A `not_started`
   * conversation whose contact's zone is known and fails it is left in the pool (it does not block the
   * rest); one of unknown zone always qualifies. `null` = no restriction. Pure and cheap: call it once
   * per distinct zone, not per conversation.
   */
  readonly contactZoneOpen: ((timeZone: string) => boolean) | null;
  /** Claim only if the texter holds nothing in the campaign (L3, I7); otherwise `blocked: "holding"`. */
  readonly onlyIfHoldingNone: boolean;
  /**
   * Idempotency key (S8) or `null`. If a claim by this texter on this campaign with this key was
   * committed before, return `replayed` with its conversations and change nothing; otherwise a
   * successful claim stores its result under the key in the same atomic step.
   */
  readonly idempotencyKey: string | null;
  /** The engine's clock, epoch milliseconds (becomes `assignedAt`). */
  readonly now: number;
  /** Builds the events to record in the same atomic step from the claimed conversations. */
  readonly events: (claimed: readonly Conversation[]) => EventDraft[];
}

/** Result of {@link StorageAdapter.claim}. */
export type ClaimOutcome =
  | {
      /** The stored campaign version differed; nothing was written. */
      readonly kind: "conflict";
    }
  | {
      /** The idempotency key was used before; nothing was written. */
      readonly kind: "replayed";
      /** The conversations the earlier claim returned. */
      readonly conversations: readonly Conversation[];
    }
  | {
      /** Gate, cap or `onlyIfHoldingNone` stopped the claim (`next` and events still committed). */
      readonly kind: "blocked";
      /** Which check stopped it. */
      readonly reason: "batch_unfinished" | "cap_reached" | "holding";
    }
  | {
      /** The claim ran (possibly claiming nothing when the pool is empty). */
      readonly kind: "claimed";
      /** The conversations now held by the texter, in hand-out order. */
      readonly conversations: readonly Conversation[];
    };

/** An import of contacts (C2), version-checked against the campaign. */
export interface ImportRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** The version the engine checked (draft or active). */
  readonly expectedVersion: number;
  /** Contacts in import order; a contact already in the campaign (or earlier in this list) is skipped. */
  readonly contacts: readonly ContactInput[];
  /** The engine's clock. */
  readonly now: number;
  /** Builds the events from the counts. A contact opted out in the organization is imported as `opted_out` (O3). */
  readonly events: (result: { created: number; skipped: number }) => EventDraft[];
}

/** Result of {@link StorageAdapter.importConversations}. */
export type ImportOutcome =
  | {
      /** The stored campaign version differed; nothing was written. */
      readonly kind: "conflict";
    }
  | {
      /** The import was written. */
      readonly kind: "imported";
      /** New conversations. */
      readonly created: number;
      /** Contacts skipped because the campaign already held them. */
      readonly skipped: number;
    };

/** A status change of one conversation (M1, M2). */
export interface StatusChange {
  /** The campaign. */
  readonly campaignId: string;
  /** The conversation. */
  readonly conversationId: string;
  /** Statuses it may be in for the change to apply; otherwise `invalid`, nothing written. */
  readonly allowedFrom: readonly ConversationStatus[];
  /** The new status. Moving to `needs_reply` sets `replyAt` to `now` unless it already was `needs_reply`. */
  readonly to: ConversationStatus;
  /** The engine's clock. */
  readonly now: number;
  /** Builds the events from the conversation before and after. */
  readonly events: (before: Conversation, after: Conversation) => EventDraft[];
}

/** Result of {@link StorageAdapter.recordStatus}. */
export type StatusOutcome =
  | {
      /** No such conversation in the campaign. */
      readonly kind: "not_found";
    }
  | {
      /** Its status is not in `allowedFrom`; nothing was written. */
      readonly kind: "invalid";
      /** The conversation as it is. */
      readonly current: Conversation;
    }
  | {
      /** The status changed. */
      readonly kind: "changed";
      /** The conversation before. */
      readonly before: Conversation;
      /** The conversation after. */
      readonly after: Conversation;
    };

/** An organization-wide opt-out (O3). */
export interface OptOutRequest {
  /** The organization. */
  readonly orgId: string;
  /** The contact. Every conversation with it in the organization's campaigns becomes `opted_out`. */
  readonly contactId: string;
  /** The engine's clock. */
  readonly now: number;
  /**
   * Builds the events from the conversations changed (each as it was before) and whether the contact
   * was opted out already (then nothing changed and no event is recorded: a no-op records nothing).
   */
  readonly events: (changed: readonly Conversation[], alreadyOptedOut: boolean) => EventDraft[];
}

/** Result of {@link StorageAdapter.optOut}. */
export interface OptOutOutcome {
  /** Conversations that became `opted_out`, each as it was before. */
  readonly changed: readonly Conversation[];
  /** True when the contact was opted out in the organization before this call. */
  readonly alreadyOptedOut: boolean;
}

/** A release of named conversations back to the pool (S9, or an admin's targeted unassign). */
export interface ReleaseRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** The conversations, all of which must be held (by `holderId` when given), or nothing happens. */
  readonly conversationIds: readonly string[];
  /** The holder they must all have, or `null` for "held by anybody". */
  readonly holderId: string | null;
  /** The engine's clock. */
  readonly now: number;
  /** Builds the events from the released conversations (each as it was before). */
  readonly events: (released: readonly Conversation[]) => EventDraft[];
}

/** Result of {@link StorageAdapter.release}. */
export type ReleaseOutcome =
  | {
      /** Some ids are not conversations of the campaign; nothing was written. */
      readonly kind: "not_found";
      /** The unknown ids. */
      readonly conversationIds: readonly string[];
    }
  | {
      /** Some conversations are not held (by the required holder); nothing was written. */
      readonly kind: "not_held";
      /** Those conversations. */
      readonly conversationIds: readonly string[];
    }
  | {
      /** All were released. */
      readonly kind: "released";
      /** The released conversations as they were before. */
      readonly conversations: readonly Conversation[];
    };

/**
 * A lease of pending initial messages for a bulk send (C6): up to `limit` conversations still
 * `not_started` (any holder) whose lease is free or expired, oldest import first, leased to `workerId`
 * until `now + leaseMs`. Concurrent leases never return the same conversation while its lease runs.
 * Only while the campaign is `bulk_sending` (checked inside the step: a paused campaign leases
 * nothing). T2: a conversation whose contact's zone is known and fails `contactZoneOpen` is not
 * leased; its zone is reported in `closedZones`.
 */
export interface LeaseRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** Who sends them. */
  readonly workerId: string;
  /** Most conversations. */
  readonly limit: number;
  /** How long the lease lasts, ms; past it, the conversations can be leased again (a crashed worker). */
  readonly leaseMs: number;
  /** T2: whether a contact in this IANA zone may get an initial message now; `null` = no restriction. */
  readonly contactZoneOpen: ((timeZone: string) => boolean) | null;
  /** The engine's clock. */
  readonly now: number;
}

/** Result of {@link StorageAdapter.leaseInitialSends}. */
export interface LeaseOutcome {
  /** The conversations leased, in import order. */
  readonly conversations: readonly Conversation[];
  /** Zones closed now (T2) that still have pending initial messages nobody holds a lease on. */
  readonly closedZones: readonly string[];
}

/**
 * Acknowledge sent initial messages (C6): each named conversation still `not_started` and leased to
 * `workerId` (even if the lease ran out, as long as nobody else leased it since) becomes
 * `initial_sent`, its lease cleared, with its events; the others are reported, unchanged.
 */
export interface AcknowledgeRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** The worker that leased them. */
  readonly workerId: string;
  /** Conversations whose initial message went out. */
  readonly conversationIds: readonly string[];
  /** The engine's clock. */
  readonly now: number;
  /** Builds the events from the conversations acknowledged (each as it was before). */
  readonly events: (sent: readonly Conversation[]) => EventDraft[];
}

/** Result of {@link StorageAdapter.acknowledgeInitialSends}. */
export interface AcknowledgeOutcome {
  /** Conversations now `initial_sent`, as they were before. */
  readonly sent: readonly Conversation[];
  /** Ids not acknowledged: unknown, not leased to this worker, or already sent. */
  readonly rejected: readonly string[];
  /** Conversations of the campaign still `not_started` after this step (exact: steps are serialized for this count). */
  readonly pending: number;
  /** True when this step finished the bulk send (see the bulk-send rule on {@link StorageAdapter}). */
  readonly finished: boolean;
}

/**
 * T4: release held conversations idle since before their cutoff, in one atomic step: `not_started`
 * ones assigned before `notStartedBefore`, and `needs_reply` ones whose later of reply time and
 * assignment time is before `needsReplyBefore` (`null` = none of that kind). The comparison is strict
 * and made inside the step, so a conversation touched at the same instant is not released.
 */
export interface StaleReleaseRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** Cutoff for `not_started`, epoch ms, or `null`. */
  readonly notStartedBefore: number | null;
  /** Cutoff for `needs_reply`, epoch ms, or `null`. */
  readonly needsReplyBefore: number | null;
  /** The engine's clock. */
  readonly now: number;
  /** Builds the events from the released conversations (each as it was before). */
  readonly events: (released: readonly Conversation[]) => EventDraft[];
}

/** Which of a campaign's conversations to list, in hand-out order. */
export interface ListQuery {
  /** The campaign. */
  readonly campaignId: string;
  /** Only those held by this user; `null` for unassigned ones. */
  readonly holderId: string | null;
  /** Status filter. */
  readonly statuses: StatusSet;
  /** Most rows. */
  readonly limit: number;
}

/** Result of {@link StorageAdapter.getCampaignWithOrganization}. */
export interface CampaignWithOrganization {
  /** The campaign. */
  readonly campaign: Campaign;
  /** Its organization. */
  readonly organization: Organization;
}

/**
 * The storage contract. Implementations: the in-memory adapter (`selfassign/memory`); others can
 * be written against this interface alone.
 *
 * Rules every adapter follows:
 * - every write is atomic and records its events in the same step, in commit order;
 * - writes that carry an `expectedVersion` compare it with the stored campaign's version inside the
 *   step and return `conflict`, writing nothing, when it differs;
 * - claims and moves never hand out a conversation somebody else holds (I1) and never lose or
 *   duplicate one (I2);
 * - the bulk-send rule (C6): a step that can leave a campaign with no `not_started` conversation —
 *   `commitCampaign` (a launch), `recordStatus`, `optOut`, `acknowledgeInitialSends` — checks, inside
 *   the step, every campaign it touched whose bulk send runs (`bulkSend.finishedAt === null`, not
 *   archived); if nothing is pending it stores `finishBulkSend(campaign, now)` and records its events
 *   in the same step;
 * - methods throw only for faults (connection lost, disk full); the engine wraps those.
 */
export interface StorageAdapter {
  /** Insert a new organization with its events; `exists` if the id is taken. */
  insertOrganization(org: Organization, events: readonly EventDraft[]): Promise<"ok" | "exists">;
  /** The organization, or `null`. */
  getOrganization(orgId: string): Promise<Organization | null>;
  /** Replace the organization if its stored version is `expectedVersion`; `next.version` is one more. */
  updateOrganization(
    next: Organization,
    expectedVersion: number,
    events: readonly EventDraft[],
  ): Promise<"ok" | "conflict">;

  /** Insert a new campaign with its events; `exists` if the id is taken. */
  insertCampaign(campaign: Campaign, events: readonly EventDraft[]): Promise<"ok" | "exists">;
  /** The campaign, or `null`. */
  getCampaign(campaignId: string): Promise<Campaign | null>;
  /** The campaign and its organization together (what most decisions need), or `null`. */
  getCampaignWithOrganization(campaignId: string): Promise<CampaignWithOrganization | null>;
  /** Campaigns of an organization. */
  listCampaigns(orgId: string): Promise<readonly Campaign[]>;
  /** The id of the campaign whose current or revoked invite token is `token`, or `null`. */
  findCampaignIdByInviteToken(token: string): Promise<string | null>;
  /** Commit an aggregate change and/or bulk moves atomically; see {@link CampaignCommit}. */
  commitCampaign(commit: CampaignCommit): Promise<CommitOutcome>;

  /** Import contacts as conversations; see {@link ImportRequest}. */
  importConversations(request: ImportRequest): Promise<ImportOutcome>;
  /**
   * The conversations a committed claim by this texter with this idempotency key returned (S8), or
   * `null` when there was none.
   */
  findClaimByKey(campaignId: string, texterId: string, key: string): Promise<readonly Conversation[] | null>;
  /** Claim conversations for a texter; see {@link ClaimRequest}. */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /** Release named conversations; see {@link ReleaseRequest}. */
  release(request: ReleaseRequest): Promise<ReleaseOutcome>;
  /** Change one conversation's status; see {@link StatusChange}. */
  recordStatus(change: StatusChange): Promise<StatusOutcome>;
  /** Opt a contact out organization-wide; see {@link OptOutRequest}. */
  optOut(request: OptOutRequest): Promise<OptOutOutcome>;

  /** One conversation, or `null`. */
  getConversation(conversationId: string): Promise<Conversation | null>;
  /** Conversations in hand-out order; see {@link ListQuery}. */
  listConversations(query: ListQuery): Promise<readonly Conversation[]>;
  /** The overview counts (A1); `senders` holds one row per holder that holds anything. */
  overview(campaignId: string): Promise<ConversationsOverview>;
  /** Lease pending initial messages for a bulk send; see {@link LeaseRequest}. */
  leaseInitialSends(request: LeaseRequest): Promise<LeaseOutcome>;
  /** Acknowledge sent initial messages; see {@link AcknowledgeRequest}. */
  acknowledgeInitialSends(request: AcknowledgeRequest): Promise<AcknowledgeOutcome>;
  /** Release idle held conversations (T4); returns them as they were before. See {@link StaleReleaseRequest}. */
  releaseStale(request: StaleReleaseRequest): Promise<readonly Conversation[]>;
  /** Events with `seq > after`, oldest first, at most `limit`. */
  readEvents(after: number, limit: number): Promise<readonly SelfAssignEvent[]>;
}

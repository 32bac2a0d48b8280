/**
 * The storage contract (v2): twelve required methods in three parts — aggregates and rosters
 * (`./aggregates.ts`), the conversation pool (`./pool.ts`), the fact log (`./facts.ts`) — plus
 * optional ones the engine derives when missing and capability methods (`./capabilities.ts`).
 *
 * Rules every adapter follows:
 * - every write is one atomic step: it commits everything — state and facts — or nothing; a throw
 *   anywhere in the step (reading the request, building the facts, a fault) must leave nothing behind;
 * - a write that decides on current data (which conversations are free, what a texter holds, whether
 *   a user is a member or a sender, whether a version matches) decides inside the step;
 * - writes that carry `expectedVersion` compare it with the stored aggregate's version inside the
 *   step and return `conflict`, writing nothing, when it differs; roster rows are never versioned;
 * - claims and moves never hand out a conversation somebody else holds (I1) and never lose or
 *   duplicate one (I2);
 * - the bulk-send rule (C6, with the `bulkSend` capability): a step that can leave a campaign with no
 *   `not_started` conversation (a launch, a status change, an opt-out, an acknowledgement) checks,
 *   inside the step, each campaign it touched whose bulk send runs (`bulkSendRunning`); when nothing is
 *   pending it stores `finishBulkSend(campaign, now).state` and records its facts in the same step;
 * - contention means waiting, fairly: an aggregate write (a pause) gets its turn while claims keep
 *   coming, and once it commits no claim decided on the old version commits;
 * - methods throw only for faults (connection lost, disk full); the engine wraps those.
 *
 * See `docs/custom-adapter.md` for a walk-through with a minimal adapter.
 * @module
 */
import type { Campaign, Conversation, Organization } from "../types.js";
import type { CampaignCommit, CampaignContext, CampaignOutcome, OrganizationCommit, OrganizationOutcome, RosterPage, RosterQuery } from "./aggregates.js";
import type {
  AcknowledgeOutcome,
  AcknowledgeRequest,
  CampaignListQuery,
  CampaignPage,
  Capabilities,
  LeaseOutcome,
  LeaseRequest,
  StaleReleaseRequest,
} from "./capabilities.js";
import type { FactQuery, FactRecord } from "./facts.js";
import type {
  ClaimOutcome,
  ClaimRequest,
  ConversationCounts,
  ConversationPage,
  ConversationQuery,
  ConversationUpdate,
  ImportOutcome,
  ImportRequest,
  OptOutOutcome,
  OptOutRequest,
  UpdateOutcome,
} from "./pool.js";

/** The required part of the contract: what a first adapter writes (twelve methods). */
export interface CoreStorage {
  // --- aggregates and rosters
  /** The organization, or `null`. */
  getOrganization(orgId: string): Promise<Organization | null>;
  /** The campaign, or `null`. */
  getCampaign(campaignId: string): Promise<Campaign | null>;
  /** The id of the campaign whose current or revoked invite token is `token`, or `null` (L2, L4). */
  findCampaignByToken(token: string): Promise<string | null>;
  /** Members or senders, in the order they were added, a page at a time or by user id. */
  readRoster(query: RosterQuery): Promise<RosterPage>;
  /** Insert or change an organization and its member rows; see {@link OrganizationCommit}. */
  commitOrganization(commit: OrganizationCommit): Promise<OrganizationOutcome>;
  /** Insert or change a campaign, its sender rows and conversations in bulk; see {@link CampaignCommit}. */
  commitCampaign(commit: CampaignCommit): Promise<CampaignOutcome>;
  // --- the conversation pool
  /** Import contacts as conversations; see {@link ImportRequest}. */
  importConversations(request: ImportRequest): Promise<ImportOutcome>;
  /** Claim conversations for a texter; see {@link ClaimRequest}. */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /** Change named conversations (status, release); see {@link ConversationUpdate}. */
  updateConversations(update: ConversationUpdate): Promise<UpdateOutcome>;
  /** Opt a contact out organization-wide; see {@link OptOutRequest}. */
  optOut(request: OptOutRequest): Promise<OptOutOutcome>;
  /** Conversations in hand-out order, filtered and paged; see {@link ConversationQuery}. */
  listConversations(query: ConversationQuery): Promise<ConversationPage>;
  // --- the fact log
  /** Recorded facts with positions after `after`, oldest first; see {@link FactQuery}. */
  readFacts(query: FactQuery): Promise<readonly FactRecord[]>;
}

/** Optional methods: the engine derives each from the core ones when an adapter leaves it out; write them to be faster. */
export interface DerivableStorage {
  /** A campaign, its organization, and one user's role and sender row, in one read. Derived: four reads. */
  getContext?(campaignId: string, userId: string): Promise<CampaignContext | null>;
  /** Counts of a campaign's conversations by holder and status (the overview, A1). Derived: listing every conversation. */
  countConversations?(campaignId: string): Promise<ConversationCounts>;
  /**
   * The newest position given to a fact (0 when none); it never goes down, not even when a prune
   * deletes every fact. Derived: reading the log to its end — the newest fact still stored, so an
   * adapter with the `eventConsumers` capability (which prunes) should write it.
   */
  factHead?(): Promise<number>;
  /**
   * Call `listener` soon after facts are recorded (by any process, as far as the adapter can tell);
   * returns a function that stops it. Without it, event watchers poll. A hint only: a listener may be
   * called when nothing new is readable, and watchers poll as well in case a notification is lost.
   */
  onFacts?(listener: () => void): () => void;
}

/** Capability methods: present exactly when the matching {@link Capabilities} flag is set. */
export interface CapabilityStorage {
  /** Lease pending initial messages (`bulkSend`); see {@link LeaseRequest}. */
  leaseInitialSends?(request: LeaseRequest): Promise<LeaseOutcome>;
  /** Acknowledge sent initial messages (`bulkSend`); see {@link AcknowledgeRequest}. */
  acknowledgeInitialSends?(request: AcknowledgeRequest): Promise<AcknowledgeOutcome>;
  /** Release idle held conversations (`staleRelease`); returns them as they were before. See {@link StaleReleaseRequest}. */
  releaseStale?(request: StaleReleaseRequest): Promise<readonly Conversation[]>;
  /** An organization's campaigns in the order they were created (`campaignListing`). */
  listCampaigns?(query: CampaignListQuery): Promise<CampaignPage>;
  /** A named consumer's stored position (0 when it never saved one) (`eventConsumers`). */
  readConsumer?(name: string): Promise<number>;
  /** Store a consumer's position; a position below the stored one is ignored (positions only move forward) (`eventConsumers`). */
  saveConsumer?(name: string, position: number): Promise<void>;
  /** Delete facts at or below `upTo` and at or below every stored consumer's position; returns how many (`eventConsumers`). */
  pruneFacts?(upTo: number): Promise<number>;
}

/**
 * The storage contract: {@link CoreStorage} (required), {@link DerivableStorage} (optional, derived
 * when missing) and {@link CapabilityStorage} (declared by `capabilities`). Implementations: the
 * in-memory adapter (`selfassign/memory`), PostgreSQL (`selfassign/postgres`), SQLite (`selfassign/sqlite`).
 */
export interface StorageAdapter extends CoreStorage, DerivableStorage, CapabilityStorage {
  /** What the adapter supports beyond the core; omitted flags are `false`. */
  readonly capabilities?: Capabilities;
}

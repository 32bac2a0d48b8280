/**
 * Contract, part 4: optional capabilities. An adapter declares what it supports in
 * `capabilities`; the engine uses only what is declared (and refuses the features that need the rest
 * with `INVALID_STATE`), and the conformance kit runs the matching groups.
 * @module
 */
import type { Campaign, Conversation } from "../types.js";
import type { FactContext } from "./facts.js";
import type { ZoneRule } from "./pool.js";

/** What an adapter supports beyond the core contract. Every flag defaults to `false`. */
export interface Capabilities {
  /** Bulk send (C6): `leaseInitialSends`, `acknowledgeInitialSends`, and the bulk-send rule in every step. */
  readonly bulkSend?: boolean;
  /** Stale release (T4): `releaseStale`. */
  readonly staleRelease?: boolean;
  /** Contact time zones (T2): claims and leases honour `contactZones`. Without it the engine refuses contacts with a time zone. */
  readonly contactZones?: boolean;
  /** Listing an organization's campaigns: `listCampaigns`. */
  readonly campaignListing?: boolean;
  /** Named event consumers with their own stored positions, and pruning: `readConsumer`, `saveConsumer`, `pruneFacts`. */
  readonly eventConsumers?: boolean;
}

/** Which campaigns of an organization to list: in the order they were created, a page at a time. */
export interface CampaignListQuery {
  /** The organization. */
  readonly orgId: string;
  /** Continue after this cursor (a previous page's `cursor`). */
  readonly after?: string | null;
  /** Most rows. */
  readonly limit: number;
}

/** A page of campaigns and the cursor of the next page, or `null` at the end. */
export interface CampaignPage {
  /** The campaigns, in the order they were created. */
  readonly rows: readonly Campaign[];
  /** Pass as `after` for the next page; `null` when there is none. */
  readonly cursor: string | null;
}

/**
 * A lease of pending initial messages for a bulk send (C6): up to `limit` conversations still
 * `not_started` (any holder) whose lease is free or expired, oldest import first, leased to `workerId`
 * until `now + leaseMs`, only while the campaign is `bulk_sending` (checked inside the step).
 * Concurrent leases never return the same conversation while its lease runs. T2: a conversation whose
 * contact's zone is known and closed by `contactZones` is not leased; its zone is reported.
 */
export interface LeaseRequest {
  /** The campaign. */
  readonly campaignId: string;
  /** Who sends them. */
  readonly workerId: string;
  /** Most conversations. */
  readonly limit: number;
  /** How long the lease lasts, ms; past it the conversations can be leased again (a crashed worker). */
  readonly leaseMs: number;
  /** T2 rule, or `null` for none. */
  readonly contactZones: ZoneRule | null;
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
 * `workerId` (even if the lease ran out, as long as nobody leased it since) becomes `initial_sent`, its
 * lease cleared; the others are reported, unchanged. Facts: `acknowledgedFacts`; the bulk-send rule applies.
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
  /** Who and when, for the facts. */
  readonly context: FactContext;
}

/** Result of {@link StorageAdapter.acknowledgeInitialSends}. */
export interface AcknowledgeOutcome {
  /** Conversations now `initial_sent`, as they were before. */
  readonly sent: readonly Conversation[];
  /** Ids not acknowledged: unknown, not leased to this worker, or already sent. */
  readonly rejected: readonly string[];
  /** Conversations of the campaign still `not_started` after this step (exact: counted under the step's serialization). */
  readonly pending: number;
  /** True when this step finished the bulk send (the bulk-send rule). */
  readonly finished: boolean;
}

/**
 * T4: release held conversations idle since before their cutoff, in one atomic step: `not_started`
 * ones assigned before `notStartedBefore`, and `needs_reply` ones whose later of reply time and
 * assignment time is before `needsReplyBefore` (`null` = none of that kind). Strict comparisons,
 * made inside the step. Facts: `unassignedFacts(context, released, "stale_release")`.
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
  /** Who and when, for the facts. */
  readonly context: FactContext;
}

/**
 * The engine: the shell around the pure core. Each public operation validates its input, loads what
 * the core needs, checks the actor's role, asks the core to decide, and commits through storage in
 * one atomic step — retrying from the top when another writer got there first.
 * @module
 */
import { customAlphabet, nanoid } from "nanoid";
import {
  type CampaignSettingsPatch,
  type JoinRefusalReason,
  type ReassignSource,
  type RefusalReason,
  addSenders,
  changeStatus,
  claimEvents,
  createCampaign,
  decideJoin,
  decideRequest,
  disableInviteLink,
  enableInviteLink,
  launch,
  reassign,
  removeSender,
  unassignAll,
  updateSettings,
  type CampaignPlan,
} from "../core/campaign.js";
import { type Context, event } from "../core/decision.js";
import { MAX_IDLE_MS, allowedRanks, idleCutoff, withinTextingHours } from "../core/time.js";
import { nextOpening } from "../core/next-opening.js";
import {
  addMember,
  assertManager,
  createOrganization,
  removeMember,
  setDefaultBatchSize,
  setMemberRole,
} from "../core/organization.js";
import { type MessagingEvent, TRANSITIONS, isAutoOptOut, roleOf } from "../core/policy.js";
import type { Moved } from "../core/moves.js";
import { AssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import { createMemoryStorage } from "../memory/adapter.js";
import type {
  Campaign,
  CampaignStatus,
  ContactInput,
  Conversation,
  ConversationsOverview,
  EventDraft,
  GatePolicy,
  Organization,
  Role,
  SelfAssignEvent,
  StatusFilter,
} from "../types.js";
import * as v from "./validate.js";
import { wrapStorage } from "./wrap-storage.js";

/** Sources of time and randomness, injectable so tests control them. */
export interface EngineOptions {
  /** Storage adapter; default: a fresh in-memory storage. */
  readonly storage?: StorageAdapter;
  /** Clock, epoch milliseconds; default `Date.now`. */
  readonly clock?: () => number;
  /** Id generator for organizations and campaigns; default nanoid with a prefix. */
  readonly generateId?: (kind: "organization" | "campaign") => string;
  /**
   * Invite token generator; default 32 nanoid characters (192 bits). A custom one must give at
   * least 120 bits of randomness (L1).
   */
  readonly generateToken?: () => string;
  /** How often an operation that lost a race is retried before failing with `CONFLICT`; default 50. */
  readonly maxAttempts?: number;
}

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
    };

/** Result of {@link Engine.importContacts}. */
export interface ImportResult {
  /** New conversations. */
  readonly created: number;
  /** Contacts skipped because the campaign already held them (C2). */
  readonly skipped: number;
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

/**
 * Why a bulk send cannot go on now (C6, T1–T3), and when it may (epoch ms, or `null` when no time
 * will do: an admin must act, or the campaign is over).
 * - `paused`: the campaign is paused; resume it.
 * - `archived`: the campaign was archived before its bulk send finished.
 * - `before_start`: before the campaign's start date (T3).
 * - `campaign_ended`: after its end date no initial message goes out (T3).
 * - `outside_texting_hours`: outside the campaign's texting hours (T1).
 * - `outside_contact_hours`: what is left waits for its contacts' texting hours (T2).
 */
export interface BulkSendWait {
  /** Why. */
  readonly reason: "paused" | "archived" | "before_start" | "campaign_ended" | "outside_texting_hours" | "outside_contact_hours";
  /** When it may go on, or `null`. */
  readonly until: number | null;
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

const ROLES: readonly Role[] = ["owner", "admin", "texter"];
const GATES: readonly GatePolicy[] = ["no-pending-initials", "no-pending-work", "none"];
const FILTERS: readonly StatusFilter[] = ["any", "needs_reply", "not_started"];
const tokenAlphabet = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-", 32);

const CONFLICT = Symbol("conflict");
type Attempt<T> = T | typeof CONFLICT;

/**
 * Create an engine. With no options it keeps everything in memory.
 *
 * @example
 * ```ts
 * import { createEngine } from "selfassign";
 * const engine = createEngine();
 * const org = await engine.createOrganization({ name: "Vote Org", ownerId: "alice" });
 * ```
 */
export function createEngine(options: EngineOptions = {}): Engine {
  return new Engine(options);
}

/**
 * Self assignment for one storage. Safe to call concurrently: every operation is atomic in storage.
 * Create it with {@link createEngine}.
 */
export class Engine {
  private readonly storage: StorageAdapter;
  private readonly clock: () => number;
  private readonly generateId: (kind: "organization" | "campaign") => string;
  private readonly generateToken: () => string;
  private readonly maxAttempts: number;

  /** Use {@link createEngine}. */
  constructor(options: EngineOptions = {}) {
    this.storage = wrapStorage(options.storage ?? createMemoryStorage());
    this.clock = options.clock ?? Date.now;
    this.generateId =
      options.generateId ?? ((kind) => `${kind === "organization" ? "org" : "cmp"}_${nanoid(16)}`);
    this.generateToken = options.generateToken ?? (() => tokenAlphabet());
    this.maxAttempts = options.maxAttempts ?? 50;
  }

  // ================================================================== organizations

  /** Create an organization; `ownerId` becomes its first owner (O1). Default batch size 300 (O2). */
  async createOrganization(input: { name: string; ownerId: string; id?: string }): Promise<Organization> {
    const i = v.object(input);
    const name = v.text(i.name, "name");
    const ownerId = v.text(i.ownerId, "ownerId");
    const id = v.optionalText(i.id, "id") ?? this.generateId("organization");
    const d = createOrganization({ id, name, ownerId }, this.ctx(ownerId));
    if ((await this.storage.insertOrganization(d.state, d.events)) === "exists") {
      throw new AssignmentError("ALREADY_EXISTS", `Organization "${id}" already exists.`, { details: { orgId: id } });
    }
    return d.state;
  }

  /** The organization. Throws `ORGANIZATION_NOT_FOUND`. */
  async getOrganization(orgId: string): Promise<Organization> {
    return this.loadOrg(v.text(orgId, "orgId"));
  }

  /** Add a member (O1). Owners and admins may add; only owners may add owners. */
  async addMember(input: { actorId: string; orgId: string; userId: string; role: Role }): Promise<Organization> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const orgId = v.text(i.orgId, "orgId");
    const userId = v.text(i.userId, "userId");
    const role = v.oneOf(i.role, "role", ROLES);
    return this.updateOrg(orgId, (org) => addMember(org, { userId, role }, this.ctx(actorId)));
  }

  /** Change a member's role. The last owner cannot be demoted. */
  async setMemberRole(input: { actorId: string; orgId: string; userId: string; role: Role }): Promise<Organization> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const orgId = v.text(i.orgId, "orgId");
    const userId = v.text(i.userId, "userId");
    const role = v.oneOf(i.role, "role", ROLES);
    return this.updateOrg(orgId, (org) => setMemberRole(org, { userId, role }, this.ctx(actorId)));
  }

  /**
   * Remove a member. Refused with `INVALID_STATE` while they are a sender on a campaign that is not
   * archived: remove them from those campaigns first (which unassigns their conversations, C3).
   */
  async removeMember(input: { actorId: string; orgId: string; userId: string }): Promise<Organization> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const orgId = v.text(i.orgId, "orgId");
    const userId = v.text(i.userId, "userId");
    // Authorization first: an unauthorized caller learns nothing about the user's campaigns.
    assertManager(await this.loadOrg(orgId), actorId);
    const campaigns = await this.storage.listCampaigns(orgId);
    const busy = campaigns.filter(
      (c) => c.status !== "archived" && c.senders.some((s) => s.userId === userId),
    );
    if (busy.length > 0) {
      throw new AssignmentError(
        "INVALID_STATE",
        `User "${userId}" is a sender on ${busy.map((c) => `"${c.id}"`).join(", ")}; remove them there first.`,
        { details: { orgId, userId, campaignIds: busy.map((c) => c.id) } },
      );
    }
    return this.updateOrg(orgId, (org) => removeMember(org, { userId }, this.ctx(actorId)));
  }

  /** Set the organization's default batch size, 1..5000 (O2). Existing campaigns keep theirs. */
  async setDefaultBatchSize(input: { actorId: string; orgId: string; batchSize: number }): Promise<Organization> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const orgId = v.text(i.orgId, "orgId");
    const batchSize = v.batchSize(i.batchSize);
    return this.updateOrg(orgId, (org) => setDefaultBatchSize(org, { batchSize }, this.ctx(actorId)));
  }

  // ================================================================== campaigns

  /** Create a draft campaign (C1). Self assignment is off until enabled (S1). */
  async createCampaign(input: { actorId: string; orgId: string; title: string; id?: string }): Promise<Campaign> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const orgId = v.text(i.orgId, "orgId");
    const title = v.text(i.title, "title");
    const id = v.optionalText(i.id, "id") ?? this.generateId("campaign");
    const org = await this.loadOrg(orgId);
    const d = createCampaign(org, { id, title }, this.ctx(actorId));
    if ((await this.storage.insertCampaign(d.state, d.events)) === "exists") {
      throw new AssignmentError("ALREADY_EXISTS", `Campaign "${id}" already exists.`, { details: { campaignId: id } });
    }
    return d.state;
  }

  /** The campaign (settings, roster, lifecycle, invite link). Throws `CAMPAIGN_NOT_FOUND`. */
  async getCampaign(campaignId: string): Promise<Campaign> {
    return this.loadCampaign(v.text(campaignId, "campaignId"));
  }

  /**
   * Change settings (S1, S5, S7, S9, T1, T3): title, self assignment on/off, batch size (1..5000),
   * gate policy, per-texter cap (`null` for none), self release, the campaign's time zone, texting
   * hours ("HH:MM", closing after opening; default 09:00–21:00 America/New_York), start and end
   * (epoch ms or `null`). Enabling self assignment the first time
   * takes the organization's default batch size unless one is given (O2).
   */
  async updateCampaignSettings(
    input: { actorId: string; campaignId: string } & CampaignSettingsPatch,
  ): Promise<Campaign> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const patch: CampaignSettingsPatch = {
      title: v.optionalText(i.title, "title"),
      enabled: v.optionalBool(i.enabled, "enabled"),
      batchSize: i.batchSize === undefined ? undefined : v.batchSize(i.batchSize),
      gate: i.gate === undefined ? undefined : v.oneOf(i.gate, "gate", GATES),
      maxHeldPerTexter:
        i.maxHeldPerTexter === undefined || i.maxHeldPerTexter === null
          ? (i.maxHeldPerTexter as null | undefined)
          : v.integer(i.maxHeldPerTexter, "maxHeldPerTexter", 1, 1_000_000_000),
      allowSelfRelease: v.optionalBool(i.allowSelfRelease, "allowSelfRelease"),
      releaseNotStartedAfterMs:
        i.releaseNotStartedAfterMs === undefined || i.releaseNotStartedAfterMs === null
          ? (i.releaseNotStartedAfterMs as null | undefined)
          : v.integer(i.releaseNotStartedAfterMs, "releaseNotStartedAfterMs", 60_000, MAX_IDLE_MS),
      releaseNeedsReplyAfterMs:
        i.releaseNeedsReplyAfterMs === undefined || i.releaseNeedsReplyAfterMs === null
          ? (i.releaseNeedsReplyAfterMs as null | undefined)
          : v.integer(i.releaseNeedsReplyAfterMs, "releaseNeedsReplyAfterMs", 60_000, MAX_IDLE_MS),
      timeZone: i.timeZone === undefined ? undefined : v.timeZone(i.timeZone, "timeZone"),
      textingHoursStart: i.textingHoursStart === undefined ? undefined : v.clock(i.textingHoursStart, "textingHoursStart"),
      textingHoursEnd: i.textingHoursEnd === undefined ? undefined : v.clock(i.textingHoursEnd, "textingHoursEnd"),
      startsAt: i.startsAt === undefined || i.startsAt === null ? (i.startsAt as null | undefined) : v.integer(i.startsAt, "startsAt", 0, 8.64e15),
      endsAt: i.endsAt === undefined || i.endsAt === null ? (i.endsAt as null | undefined) : v.integer(i.endsAt, "endsAt", 0, 8.64e15),
    };
    const known = new Set([
      "actorId",
      "campaignId",
      "title",
      "enabled",
      "batchSize",
      "gate",
      "maxHeldPerTexter",
      "allowSelfRelease",
      "releaseNotStartedAfterMs",
      "releaseNeedsReplyAfterMs",
      "timeZone",
      "textingHoursStart",
      "textingHoursEnd",
      "startsAt",
      "endsAt",
    ]);
    const unknown = Object.keys(i).filter((k) => !known.has(k));
    if (unknown.length > 0) {
      throw new AssignmentError("INVALID_INPUT", `Unknown setting(s): ${unknown.join(", ")}.`, {
        details: { field: unknown[0] },
      });
    }
    return (
      await this.commitPlan(campaignId, (org, c) => {
        const d = updateSettings(org, c, patch, this.ctx(actorId));
        return { state: d.state, moves: [], events: () => d.events };
      })
    ).campaign;
  }

  /**
   * Import contacts as conversations (C2) into a draft or active campaign. A contact the campaign
   * already holds (or listed twice) is skipped; a contact opted out in the organization arrives as
   * `opted_out` (O3). Only owners and admins may import.
   */
  async importContacts(input: {
    actorId: string;
    campaignId: string;
    contacts: readonly ContactInput[];
  }): Promise<ImportResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    if (!Array.isArray(i.contacts)) v.textList(i.contacts, "contacts");
    const contacts = (i.contacts as unknown[]).map((raw, n) => {
      const c = v.object(raw, `contacts[${n}]`);
      return {
        contactId: v.text(c.contactId, `contacts[${n}].contactId`),
        timeZone: v.optionalTimeZone(c.timeZone, `contacts[${n}].timeZone`),
      };
    });
    return this.retry(async () => {
      const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
      const ctx = this.ctx(actorId);
      assertManager(org, actorId, { campaignId });
      if (campaign.status !== "draft" && campaign.status !== "active") {
        throw new AssignmentError(
          "INVALID_STATE",
          `Contacts can be imported into a draft or active campaign (C2); "${campaignId}" is ${campaign.status}.`,
          { details: { campaignId, status: campaign.status } },
        );
      }
      const outcome = await this.storage.importConversations({
        campaignId,
        expectedVersion: campaign.version,
        contacts,
        now: ctx.now,
        events: (counts) =>
          counts.created === 0 ? [] : [event("conversations.imported", ctx, org.id, campaignId, counts)],
      });
      return outcome.kind === "conflict" ? CONFLICT : { created: outcome.created, skipped: outcome.skipped };
    });
  }

  /** Add senders (C3): organization members only. Nothing is assigned to them automatically (C5). */
  async addSenders(input: { actorId: string; campaignId: string; userIds: readonly string[] }): Promise<Campaign> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const userIds = v.textList(i.userIds, "userIds");
    return (
      await this.commitPlan(campaignId, (org, c) => {
        const d = addSenders(org, c, userIds, this.ctx(actorId));
        return { state: d.state, moves: [], events: () => d.events };
      })
    ).campaign;
  }

  /**
   * Remove a sender (C3). Their open conversations go back to the pool, or round-robin to
   * `reassignTo` (other senders, A5) when given; closed and opted-out ones become unassigned.
   */
  async removeSender(input: {
    actorId: string;
    campaignId: string;
    userId: string;
    reassignTo?: readonly string[];
  }): Promise<RemoveSenderResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const userId = v.text(i.userId, "userId");
    const reassignTo = i.reassignTo === undefined ? [] : v.textList(i.reassignTo, "reassignTo", { allowEmpty: true });
    const r = await this.commitPlan(campaignId, (org, c) =>
      removeSender(org, c, { userId, reassignTo }, this.ctx(actorId)),
    );
    const moved = r.moved.flat();
    const reassigned = moved.filter((m) => m.conversation.assigneeId !== null).length;
    return { campaign: r.campaign, reassigned, unassigned: moved.length - reassigned };
  }

  /**
   * Launch a draft (C1, C4): it becomes active, and if it has senders every unassigned open
   * conversation is split among them as evenly as possible (round-robin in roster order). With
   * `bulkSend: true` it becomes `bulk_sending` instead (C6): drain the initial messages with
   * {@link Engine.bulkSend} (or lease and acknowledge them yourself); when every one is acknowledged
   * the campaign becomes active.
   */
  async launchCampaign(input: { actorId: string; campaignId: string; bulkSend?: boolean }): Promise<LaunchResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const bulkSend = v.optionalBool(i.bulkSend, "bulkSend") ?? false;
    const r = await this.commitPlan(campaignId, (org, c) => launch(org, c, this.ctx(actorId), { bulkSend }));
    // A bulk send with nothing to send finished in the same step (C6): report the stored campaign.
    const campaign = bulkSend ? await this.loadCampaign(campaignId) : r.campaign;
    return { campaign, assigned: r.moved.flat().length };
  }

  /** Pause an active campaign (C1): requests and joins are refused until it is resumed (C7). */
  async pauseCampaign(input: { actorId: string; campaignId: string }): Promise<Campaign> {
    return this.changeStatus(input, "pause");
  }

  /** Resume a paused campaign (C1). */
  async resumeCampaign(input: { actorId: string; campaignId: string }): Promise<Campaign> {
    return this.changeStatus(input, "resume");
  }

  /** Archive an active or paused campaign (C1): final; it can still be read (C7). */
  async archiveCampaign(input: { actorId: string; campaignId: string }): Promise<Campaign> {
    return this.changeStatus(input, "archive");
  }

  /**
   * Enable the sender invite link (L1) and return its token. Needs self assignment enabled. If the
   * link is already enabled, returns the current token.
   */
  async enableInviteLink(input: { actorId: string; campaignId: string }): Promise<InviteLinkResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const token = this.generateToken();
    const { campaign } = await this.commitPlan(campaignId, (org, c) => {
      const d = enableInviteLink(org, c, token, this.ctx(actorId));
      return { state: d.state, moves: [], events: () => d.events };
    });
    return { token: campaign.invite.token!, campaign };
  }

  /** Disable the invite link: its token is revoked for good (L4). */
  async disableInviteLink(input: { actorId: string; campaignId: string }): Promise<Campaign> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    return (
      await this.commitPlan(campaignId, (org, c) => {
        const d = disableInviteLink(org, c, this.ctx(actorId));
        return { state: d.state, moves: [], events: () => d.events };
      })
    ).campaign;
  }

  // ================================================================== self assignment

  /**
   * *Request Conversations* (S2–S8). Returns the conversations assigned — `min(batch size, what is
   * assignable, the texter's remaining cap)`, best first (S4) — or a refusal with its reason code,
   * checked in this order: `campaign_not_active`, `self_assignment_disabled`, `not_a_sender`,
   * `outside_texting_hours` (T1), `batch_unfinished`, `cap_reached`, `nothing_available`. A refusal
   * changes nothing. Before the campaign's start no not-started conversation is handed out, after its
   * end only conversations needing a reply (T3).
   *
   * With an `idempotencyKey`, a retry of a request that succeeded returns the original result and
   * assigns nothing more (S8). Refused requests store nothing, so their retries are decided afresh.
   */
  async requestConversations(input: {
    campaignId: string;
    texterId: string;
    idempotencyKey?: string;
  }): Promise<RequestResult> {
    const i = v.object(input);
    const campaignId = v.text(i.campaignId, "campaignId");
    const texterId = v.text(i.texterId, "texterId");
    const key = v.optionalText(i.idempotencyKey, "idempotencyKey") ?? null;
    return this.retry(async () => {
      const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
      if (key !== null) {
        const previous = await this.storage.findClaimByKey(campaignId, texterId, key);
        if (previous !== null) return { ok: true, conversations: previous, replayed: true };
      }
      const ctx = this.ctx(texterId);
      const decision = decideRequest(org, campaign, texterId, ctx.now);
      if (decision.kind === "refuse") return { ok: false, reason: decision.reason };
      const outcome = await this.storage.claim({
        campaignId,
        texterId,
        expectedVersion: campaign.version,
        next: null,
        ...decision.claim,
        onlyIfHoldingNone: false,
        idempotencyKey: key,
        now: ctx.now,
        events: (claimed) => claimEvents(ctx, campaign, claimed, "request"),
      });
      switch (outcome.kind) {
        case "conflict":
          return CONFLICT;
        case "replayed":
          return { ok: true, conversations: outcome.conversations, replayed: true };
        case "blocked":
          return { ok: false, reason: outcome.reason === "cap_reached" ? "cap_reached" : "batch_unfinished" };
        case "claimed":
          return outcome.conversations.length === 0
            ? { ok: false, reason: "nothing_available" }
            : { ok: true, conversations: outcome.conversations, replayed: false };
      }
    });
  }

  /**
   * Join a campaign with its invite link (L2, L3). Refusals: `invalid_token`, `token_revoked`,
   * `not_a_member`, `campaign_not_active`, `self_assignment_disabled`, `outside_texting_hours` (T1) —
   * a wrong token reveals
   * nothing about any campaign. On success the member is a sender and, if they held nothing in the
   * campaign, has a first batch.
   */
  async joinByInvite(input: { token: string; userId: string }): Promise<JoinResult> {
    const i = v.object(input);
    if (typeof i.token !== "string") v.text(i.token, "token");
    const token = i.token as string;
    v.wellFormed(token, "token");
    const userId = v.text(i.userId, "userId");
    const campaignId =
      token.length === 0 || token.length > v.MAX_STRING_LENGTH
        ? null
        : await this.storage.findCampaignIdByInviteToken(token);
    if (campaignId === null) return { ok: false, reason: "invalid_token" };
    return this.retry(async () => {
      const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
      const ctx = this.ctx(userId);
      const d = decideJoin(org, campaign, token, userId, ctx);
      if (d.kind === "refuse") return { ok: false, reason: d.reason };
      const outcome = await this.storage.claim({
        campaignId,
        texterId: userId,
        expectedVersion: campaign.version,
        next: d.alreadySender ? null : d.state,
        ...d.claim,
        onlyIfHoldingNone: true,
        idempotencyKey: null,
        now: ctx.now,
        events: (claimed) => [...d.events, ...claimEvents(ctx, campaign, claimed, "invite")],
      });
      if (outcome.kind === "conflict") return CONFLICT;
      const conversations = outcome.kind === "claimed" ? outcome.conversations : [];
      return {
        ok: true,
        campaignId,
        alreadySender: d.alreadySender,
        conversations,
        firstBatch:
          outcome.kind === "blocked" && outcome.reason === "holding"
            ? "already_holding"
            : conversations.length > 0
              ? "assigned"
              : "nothing_available",
      };
    });
  }

  /**
   * A texter's assignment view (S6): their conversations, needs reply first (oldest reply first),
   * then not started, then the rest. With `filter: "actionable"` only needs-reply and not-started
   * ones are listed. A texter may read their own view; owners and admins anybody's.
   */
  async getAssignments(input: {
    actorId: string;
    campaignId: string;
    texterId: string;
    filter?: AssignmentViewFilter;
    limit?: number;
  }): Promise<readonly Conversation[]> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const texterId = v.text(i.texterId, "texterId");
    const filter = i.filter === undefined ? "all" : v.oneOf(i.filter, "filter", ["all", "actionable"] as const);
    const limit = i.limit === undefined ? 10_000 : v.integer(i.limit, "limit", 1, 1_000_000);
    const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
    if (actorId !== texterId || roleOf(org, actorId) === undefined) assertManager(org, actorId, { campaignId });
    const rows = await this.storage.listConversations({
      campaignId,
      holderId: texterId,
      statuses: filter === "actionable" ? "open" : "all",
      limit,
    });
    return filter === "actionable"
      ? rows.filter((c) => c.status === "needs_reply" || c.status === "not_started")
      : rows;
  }

  /**
   * Hand conversations back (S9). A texter may release only conversations they hold, and only when
   * the campaign allows self release; owners and admins may release anybody's. All or nothing.
   */
  async releaseConversations(input: {
    actorId: string;
    campaignId: string;
    conversationIds: readonly string[];
  }): Promise<ReleaseResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const conversationIds = v.textList(i.conversationIds, "conversationIds");
    const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
    const role = roleOf(org, actorId);
    const admin = role === "owner" || role === "admin";
    if (!admin) {
      if (role === undefined) assertManager(org, actorId, { campaignId });
      if (!campaign.selfAssignment.allowSelfRelease) {
        throw new AssignmentError(
          "SELF_RELEASE_NOT_ALLOWED",
          `Campaign "${campaignId}" does not let texters hand conversations back (S9); ask an admin.`,
          { details: { campaignId } },
        );
      }
    }
    if (campaign.status === "archived") {
      throw new AssignmentError("INVALID_STATE", `Campaign "${campaignId}" is archived (C7).`, {
        details: { campaignId },
      });
    }
    const ctx = this.ctx(actorId);
    const outcome = await this.storage.release({
      campaignId,
      conversationIds,
      holderId: admin ? null : actorId,
      now: ctx.now,
      events: (released) => {
        const byHolder = new Map<string, string[]>();
        for (const c of released) {
          const list = byHolder.get(c.assigneeId!) ?? [];
          list.push(c.id);
          byHolder.set(c.assigneeId!, list);
        }
        return [...byHolder].map(([texterId, ids]) =>
          event("conversations.unassigned", ctx, org.id, campaignId, {
            texterId,
            conversationIds: ids,
            reason: admin ? "admin_release" : "self_release",
          }),
        );
      },
    });
    if (outcome.kind === "not_found") {
      throw new AssignmentError(
        "CONVERSATION_NOT_FOUND",
        `No such conversation(s) in campaign "${campaignId}": ${outcome.conversationIds.slice(0, 5).join(", ")}.`,
        { details: { campaignId, conversationIds: outcome.conversationIds } },
      );
    }
    if (outcome.kind === "not_held") {
      throw new AssignmentError(
        "NOT_HELD",
        `${admin ? "Not assigned to anybody" : `Not held by "${actorId}"`}: ${outcome.conversationIds.slice(0, 5).join(", ")}. Nothing was released.`,
        { details: { campaignId, conversationIds: outcome.conversationIds } },
      );
    }
    return { released: outcome.conversations.length };
  }

  // ================================================================== stale release (T4)

  /**
   * Release held conversations left idle too long (T4): not-started ones after the campaign's
   * `releaseNotStartedAfterMs`, unanswered replies after `releaseNeedsReplyAfterMs`, counting only
   * texting time (the idle clock stops outside the campaign's texting hours). They return to the pool
   * in one atomic step; each texter gets a `conversations.unassigned` event (reason `stale_release`)
   * naming what was released. A conversation touched at the same instant is not released. Run it on a
   * schedule: {@link startStaleRelease}.
   */
  async releaseStale(input: { campaignId: string }): Promise<StaleReleaseResult> {
    const i = v.object(input);
    const campaignId = v.text(i.campaignId, "campaignId");
    const campaign = await this.loadCampaign(campaignId);
    const sa = campaign.selfAssignment;
    const ctx = this.ctx(null);
    if (campaign.status === "archived" || (sa.releaseNotStartedAfterMs === null && sa.releaseNeedsReplyAfterMs === null)) {
      return { released: 0, byTexter: [] };
    }
    const cutoff = (ms: number | null) => (ms === null ? null : idleCutoff(ctx.now, ms, campaign.schedule));
    const released = await this.storage.releaseStale({
      campaignId,
      notStartedBefore: cutoff(sa.releaseNotStartedAfterMs),
      needsReplyBefore: cutoff(sa.releaseNeedsReplyAfterMs),
      now: ctx.now,
      events: (list) =>
        [...groupIds(list)].map(([texterId, conversationIds]) =>
          event("conversations.unassigned", ctx, campaign.orgId, campaignId, { texterId, conversationIds, reason: "stale_release" }),
        ),
    });
    return { released: released.length, byTexter: [...groupIds(released)].map(([texterId, conversationIds]) => ({ texterId, conversationIds })) };
  }

  // ================================================================== bulk send (C6)

  /**
   * Lease up to `limit` pending initial messages of a bulk-sending campaign to a host worker for
   * `leaseMs` (C6). Several workers can lease at once without ever getting the same conversation
   * while its lease runs; a worker that crashes leaves its unacknowledged leases to expire and be
   * leased again. The time rules hold as for texters: nothing outside the campaign's texting hours
   * (T1), nothing to a contact outside their own hours (T2), nothing before the start or after the
   * end (T3). Returns `[]` when nothing may be sent now — paused, archived, active (nothing pending),
   * or waiting on time; {@link Engine.getBulkSendProgress} says which.
   */
  async leaseInitialSends(input: { campaignId: string; workerId: string; limit?: number; leaseMs?: number }): Promise<readonly Conversation[]> {
    return (await this.lease(input)).conversations;
  }

  /**
   * Acknowledge initial messages a worker sent (C6): each conversation it leased becomes
   * `initial_sent` (an event each); ids it does not hold a lease on are returned as `rejected`,
   * unchanged, so a send is never recorded twice. When nothing is pending any more, the campaign
   * becomes active in the same atomic step (`finished: true`).
   */
  async acknowledgeInitialSends(input: {
    campaignId: string;
    workerId: string;
    conversationIds: readonly string[];
  }): Promise<AcknowledgeResult> {
    const i = v.object(input);
    const campaignId = v.text(i.campaignId, "campaignId");
    const workerId = v.text(i.workerId, "workerId");
    const conversationIds = v.textList(i.conversationIds, "conversationIds", { allowEmpty: true });
    const campaign = await this.loadCampaign(campaignId);
    const ctx = this.ctx(null);
    const outcome = await this.storage.acknowledgeInitialSends({
      campaignId,
      workerId,
      conversationIds,
      now: ctx.now,
      events: (sent) =>
        sent.map((c) =>
          event("conversation.status_changed", ctx, campaign.orgId, campaignId, { conversationId: c.id, from: c.status, to: "initial_sent" }),
        ),
    });
    return { sent: outcome.sent.length, rejected: outcome.rejected, pending: outcome.pending, finished: outcome.finished };
  }

  /**
   * Bulk-send progress (C6): `total` conversations that need or needed an initial message (opted-out
   * ones excluded), `pending` still waiting, `sent` the rest, and why the bulk send cannot go on now.
   */
  async getBulkSendProgress(input: { campaignId: string }): Promise<BulkSendProgress> {
    const i = v.object(input);
    const campaignId = v.text(i.campaignId, "campaignId");
    const campaign = await this.loadCampaign(campaignId);
    const o = await this.storage.overview(campaignId);
    const total = o.total - o.byStatus.opted_out;
    const pending = o.byStatus.not_started;
    const waiting = campaign.bulkSend !== null && campaign.bulkSend.finishedAt === null ? bulkWait(campaign, this.clock()) : null;
    return { total, pending, sent: total - pending, status: campaign.status, waiting };
  }

  /**
   * Drain a bulk send as one worker (C6): lease a batch, call `send` for each conversation, acknowledge
   * the ones sent, repeat until nothing is left to lease. Run it in several processes at once to send
   * faster. A `send` that throws leaves that conversation unacknowledged (it is leased again after
   * `leaseMs`); the error is rethrown after the batch's successful sends are acknowledged. When the
   * time rules (T1–T3) or a pause stop it, it returns with `waiting` saying why and until when.
   */
  async bulkSend(input: {
    campaignId: string;
    workerId: string;
    send: (conversation: Conversation) => Promise<void>;
    batchSize?: number;
    leaseMs?: number;
  }): Promise<BulkSendResult> {
    const i = v.object(input);
    const send = v.fn<(c: Conversation) => Promise<void>>(i.send, "send");
    const request = {
      campaignId: v.text(i.campaignId, "campaignId"),
      workerId: v.text(i.workerId, "workerId"),
      limit: i.batchSize === undefined ? undefined : v.integer(i.batchSize, "batchSize", 1, 10_000),
      leaseMs: i.leaseMs === undefined ? undefined : v.integer(i.leaseMs, "leaseMs", 1, 86_400_000),
    };
    let sent = 0;
    for (;;) {
      const { conversations: leased, campaign, waiting } = await this.lease(request);
      if (leased.length === 0) {
        const finished = campaign.status === "active" || (campaign.bulkSend !== null && campaign.bulkSend.finishedAt !== null);
        return { sent, finished, waiting: finished ? null : waiting };
      }
      const done: string[] = [];
      let failure: unknown = undefined;
      for (const c of leased) {
        try {
          await send(c);
          done.push(c.id);
        } catch (error) {
          failure = error;
          break;
        }
      }
      const ack = await this.acknowledgeInitialSends({ campaignId: request.campaignId, workerId: request.workerId, conversationIds: done });
      sent += ack.sent;
      if (failure !== undefined) throw failure;
      if (ack.finished) return { sent, finished: true, waiting: null };
    }
  }

  /** Lease for {@link Engine.leaseInitialSends} and {@link Engine.bulkSend}: the leased conversations, the campaign, and why nothing more may go now. */
  private async lease(input: unknown): Promise<{ conversations: readonly Conversation[]; campaign: Campaign; waiting: BulkSendWait | null }> {
    const i = v.object(input);
    const campaignId = v.text(i.campaignId, "campaignId");
    const workerId = v.text(i.workerId, "workerId");
    const limit = i.limit === undefined ? 100 : v.integer(i.limit, "limit", 1, 10_000);
    const leaseMs = i.leaseMs === undefined ? 60_000 : v.integer(i.leaseMs, "leaseMs", 1, 86_400_000);
    const campaign = await this.loadCampaign(campaignId);
    if (campaign.status === "draft" || (campaign.bulkSend === null && campaign.status !== "active")) {
      throw new AssignmentError("INVALID_STATE", `Campaign "${campaignId}" is ${campaign.status}; only a bulk-sending campaign has initial messages to lease (C6).`, {
        details: { campaignId, status: campaign.status },
      });
    }
    const now = this.clock();
    const waiting = campaign.bulkSend !== null && campaign.bulkSend.finishedAt === null ? bulkWait(campaign, now) : null;
    if (campaign.status !== "bulk_sending" || waiting !== null) return { conversations: [], campaign, waiting };
    const schedule = campaign.schedule;
    const outcome = await this.storage.leaseInitialSends({
      campaignId,
      workerId,
      limit,
      leaseMs,
      now,
      contactZoneOpen: (timeZone) => withinTextingHours(now, { ...schedule, timeZone }),
    });
    const zones = outcome.closedZones.map((timeZone) => nextOpening(now, { ...schedule, timeZone }));
    return {
      conversations: outcome.conversations,
      campaign,
      waiting: zones.length === 0 ? null : { reason: "outside_contact_hours", until: Math.min(...zones) },
    };
  }

  // ================================================================== admin

  /** The conversations overview (A1). Owners and admins only. */
  async getOverview(input: { actorId: string; campaignId: string }): Promise<ConversationsOverview> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
    assertManager(org, actorId, { campaignId });
    const counts = await this.storage.overview(campaignId);
    const rows = new Map(counts.senders.map((s) => [s.userId, s]));
    const senders = campaign.senders.map(
      (s) => rows.get(s.userId) ?? { userId: s.userId, held: 0, notStarted: 0, needsReply: 0 },
    );
    for (const row of counts.senders) if (!campaign.senders.some((s) => s.userId === row.userId)) senders.push(row);
    return { ...counts, senders };
  }

  /** Bulk Unassign All (A2): every assigned conversation becomes unassigned, whatever its status. */
  async unassignAll(input: { actorId: string; campaignId: string }): Promise<UnassignResult> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const r = await this.commitPlan(campaignId, (org, c) => unassignAll(org, c, this.ctx(actorId)));
    return { unassigned: r.moved.flat().length };
  }

  /**
   * Reassign Some (A3): move `count` conversations matching `filter` from the unassigned pool or
   * from the given senders, best first (S4), split evenly (round-robin) across the target senders (A5).
   */
  async reassignSome(input: {
    actorId: string;
    campaignId: string;
    from: ReassignSource;
    filter: StatusFilter;
    count: number;
    to: readonly string[];
  }): Promise<ReassignResult> {
    const i = v.object(input);
    return this.reassign(i, v.integer(i.count, "count", 1, 100_000_000));
  }

  /** Reassign All (A4): like {@link Engine.reassignSome} for every matching conversation. */
  async reassignAll(input: {
    actorId: string;
    campaignId: string;
    from: ReassignSource;
    filter: StatusFilter;
    to: readonly string[];
  }): Promise<ReassignResult> {
    return this.reassign(v.object(input), null);
  }

  // ================================================================== messaging events (host)

  /** The host sent the initial message (M1): `not_started` → `initial_sent`. */
  async recordInitialSent(input: { conversationId: string }): Promise<Conversation> {
    return this.recordMessaging(await this.conversationOf(input), "initial_sent");
  }

  /**
   * The contact replied (M1, M2): → `needs_reply`, ranked first in the pool at once. With
   * `autoOptOut: true` and the `text` of the contact's first reply, an opt-out keyword (M3) opts the
   * contact out organization-wide instead (O3), and it does not count as a reply.
   */
  async recordContactReply(input: {
    conversationId: string;
    text?: string;
    autoOptOut?: boolean;
  }): Promise<Conversation> {
    const i = v.object(input);
    const text = i.text === undefined ? undefined : typeof i.text === "string" ? i.text : v.text(i.text, "text");
    const auto = v.optionalBool(i.autoOptOut, "autoOptOut") ?? false;
    const current = await this.loadConversation(v.text(i.conversationId, "conversationId"));
    if (auto && text !== undefined && isAutoOptOut(text) && current.status === "initial_sent") {
      const campaign = await this.loadCampaign(current.campaignId);
      await this.optOut({ orgId: campaign.orgId, contactId: current.contactId });
      return this.loadConversation(current.id);
    }
    return this.recordMessaging(current, "contact_replied");
  }

  /** The texter answered (M1): `needs_reply` → `replied`. */
  async recordTexterReply(input: { conversationId: string }): Promise<Conversation> {
    return this.recordMessaging(await this.conversationOf(input), "texter_replied");
  }

  /**
   * Close a conversation (M1). The host reports it; pass `actorId` to check that the closer is its
   * holder or an owner/admin.
   */
  async closeConversation(input: { conversationId: string; actorId?: string }): Promise<Conversation> {
    const i = v.object(input);
    const actorId = v.optionalText(i.actorId, "actorId");
    const current = await this.conversationOf(i);
    if (actorId !== undefined && current.assigneeId !== actorId) {
      const campaign = await this.loadCampaign(current.campaignId);
      assertManager(await this.loadOrg(campaign.orgId), actorId, { campaignId: campaign.id });
    }
    return this.recordMessaging(current, "closed", actorId ?? null);
  }

  /**
   * Opt a contact out organization-wide (O3): every conversation with them, in every campaign,
   * becomes `opted_out` and is never assigned again; later imports of the contact arrive opted out.
   */
  async optOut(input: { orgId: string; contactId: string }): Promise<OptOutResult> {
    const i = v.object(input);
    const orgId = v.text(i.orgId, "orgId");
    const contactId = v.text(i.contactId, "contactId");
    await this.loadOrg(orgId);
    const ctx = this.ctx(null);
    const { changed } = await this.storage.optOut({
      orgId,
      contactId,
      now: ctx.now,
      events: (before, alreadyOptedOut) =>
        alreadyOptedOut && before.length === 0
          ? [] // a repeated opt-out changes nothing and records nothing
          : [
              ...before.map((c) =>
                event("conversation.status_changed", ctx, orgId, c.campaignId, {
                  conversationId: c.id,
                  from: c.status,
                  to: "opted_out",
                }),
              ),
              event("contact.opted_out", ctx, orgId, null, { contactId, conversationIds: before.map((c) => c.id) }),
            ],
    });
    return { conversations: changed.length };
  }

  // ================================================================== reads

  /** One conversation. Throws `CONVERSATION_NOT_FOUND`. */
  async getConversation(conversationId: string): Promise<Conversation> {
    return this.loadConversation(v.text(conversationId, "conversationId"));
  }

  /** Events after position `after` (default 0), oldest first, at most `limit` (default 1000). */
  async readEvents(input: { after?: number; limit?: number } = {}): Promise<readonly SelfAssignEvent[]> {
    const i = v.object(input);
    const after = i.after === undefined ? 0 : v.integer(i.after, "after", 0, Number.MAX_SAFE_INTEGER);
    const limit = i.limit === undefined ? 1000 : v.integer(i.limit, "limit", 1, 100_000);
    return this.storage.readEvents(after, limit);
  }

  // ================================================================== internals

  private ctx(actorId: string | null): Context {
    return { now: this.clock(), actorId };
  }

  private async retry<T>(attempt: () => Promise<Attempt<T>>): Promise<T> {
    for (let n = 1; n <= this.maxAttempts; n++) {
      const result = await attempt();
      if (result !== CONFLICT) return result;
      if (n >= 3) await new Promise((resolve) => setTimeout(resolve, Math.min(50, n) * Math.random()));
    }
    throw new AssignmentError(
      "CONFLICT",
      `The operation lost ${this.maxAttempts} races in a row to concurrent changes; nothing was changed. Retry it.`,
    );
  }

  private async loadOrg(orgId: string): Promise<Organization> {
    const org = await this.storage.getOrganization(orgId);
    if (org === null) {
      throw new AssignmentError("ORGANIZATION_NOT_FOUND", `No organization "${orgId}".`, { details: { orgId } });
    }
    return org;
  }

  private async loadCampaign(campaignId: string): Promise<Campaign> {
    const campaign = await this.storage.getCampaign(campaignId);
    if (campaign === null) {
      throw new AssignmentError("CAMPAIGN_NOT_FOUND", `No campaign "${campaignId}".`, { details: { campaignId } });
    }
    return campaign;
  }

  /** The campaign and its organization, in one storage call (one round trip on PostgreSQL). */
  private async loadCampaignAndOrg(campaignId: string): Promise<{ campaign: Campaign; org: Organization }> {
    const both = await this.storage.getCampaignWithOrganization(campaignId);
    if (both === null) {
      throw new AssignmentError("CAMPAIGN_NOT_FOUND", `No campaign "${campaignId}".`, { details: { campaignId } });
    }
    return { campaign: both.campaign, org: both.organization };
  }

  private async loadConversation(conversationId: string): Promise<Conversation> {
    const conversation = await this.storage.getConversation(conversationId);
    if (conversation === null) {
      throw new AssignmentError("CONVERSATION_NOT_FOUND", `No conversation "${conversationId}".`, {
        details: { conversationId },
      });
    }
    return conversation;
  }

  private async updateOrg(
    orgId: string,
    decide: (org: Organization) => { state: Organization; events: EventDraft[] },
  ): Promise<Organization> {
    return this.retry(async () => {
      const org = await this.loadOrg(orgId);
      const d = decide(org);
      if (d.state === org) return org;
      return (await this.storage.updateOrganization(d.state, org.version, d.events)) === "ok" ? d.state : CONFLICT;
    });
  }

  private async commitPlan(
    campaignId: string,
    decide: (org: Organization, campaign: Campaign) => CampaignPlan,
  ): Promise<{ campaign: Campaign; moved: readonly (readonly Moved[])[] }> {
    return this.retry(async () => {
      const { campaign, org } = await this.loadCampaignAndOrg(campaignId);
      const p = decide(org, campaign);
      if (p.state === campaign && p.moves.length === 0) return { campaign, moved: [] };
      const outcome = await this.storage.commitCampaign({
        campaignId,
        expectedVersion: campaign.version,
        next: p.state === campaign ? null : p.state,
        moves: p.moves,
        now: this.clock(),
        events: p.events,
      });
      return outcome.kind === "conflict" ? CONFLICT : { campaign: p.state, moved: outcome.moved };
    });
  }

  private async changeStatus(input: unknown, change: "pause" | "resume" | "archive"): Promise<Campaign> {
    const i = v.object(input);
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    return (
      await this.commitPlan(campaignId, (org, c) => {
        const d = changeStatus(org, c, change, this.ctx(actorId));
        return { state: d.state, moves: [], events: () => d.events };
      })
    ).campaign;
  }

  private async reassign(i: Record<string, unknown>, count: number | null): Promise<ReassignResult> {
    const actorId = v.text(i.actorId, "actorId");
    const campaignId = v.text(i.campaignId, "campaignId");
    const filter = v.oneOf(i.filter, "filter", FILTERS);
    const to = v.textList(i.to, "to");
    let from: ReassignSource;
    if (i.from === "unassigned") from = "unassigned";
    else {
      const f = v.object(i.from, "from");
      from = { senderIds: v.textList(f.senderIds, "from.senderIds") };
    }
    const r = await this.commitPlan(campaignId, (org, c) =>
      reassign(org, c, { from, filter, count, to }, this.ctx(actorId)),
    );
    return { moved: r.moved.flat().filter((m) => m.fromHolder !== m.conversation.assigneeId).length };
  }

  /** Validate `{ conversationId }` and load the conversation. */
  private async conversationOf(input: unknown): Promise<Conversation> {
    return this.loadConversation(v.text(v.object(input).conversationId, "conversationId"));
  }

  /** Apply a messaging event (M1) to a conversation already loaded (one read per call). */
  private async recordMessaging(current: Conversation, kind: MessagingEvent, actorId: string | null = null): Promise<Conversation> {
    const conversationId = current.id;
    const campaign = await this.loadCampaign(current.campaignId);
    const rule = TRANSITIONS[kind];
    const ctx = this.ctx(actorId);
    const outcome = await this.storage.recordStatus({
      campaignId: campaign.id,
      conversationId,
      allowedFrom: rule.from,
      to: rule.to,
      now: ctx.now,
      events: (before, after) =>
        before.status === after.status
          ? []
          : [
              event("conversation.status_changed", ctx, campaign.orgId, campaign.id, {
                conversationId,
                from: before.status,
                to: after.status,
              }),
            ],
    });
    if (outcome.kind === "not_found") return this.loadConversation(conversationId);
    if (outcome.kind === "invalid") {
      throw new AssignmentError(
        "INVALID_TRANSITION",
        `Conversation "${conversationId}" is ${outcome.current.status}; "${kind}" applies only to ${rule.from.join(", ")} (M1).`,
        { details: { conversationId, status: outcome.current.status, event: kind } },
      );
    }
    return outcome.after;
  }
}

/** Conversation ids by holder, in first-seen order. */
function groupIds(conversations: readonly Conversation[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const c of conversations) {
    const list = groups.get(c.assigneeId!);
    if (list === undefined) groups.set(c.assigneeId!, [c.id]);
    else list.push(c.id);
  }
  return groups;
}

/** Why a running bulk send cannot go on at `now` (campaign-wide: pause, T1, T3), or `null`. */
function bulkWait(campaign: Campaign, now: number): BulkSendWait | null {
  if (campaign.status === "paused") return { reason: "paused", until: null };
  if (campaign.status === "archived") return { reason: "archived", until: null };
  const schedule = campaign.schedule;
  if (!allowedRanks(now, schedule).includes(1)) {
    return schedule.endsAt !== null && now >= schedule.endsAt
      ? { reason: "campaign_ended", until: null }
      : { reason: "before_start", until: schedule.startsAt };
  }
  if (!withinTextingHours(now, schedule)) return { reason: "outside_texting_hours", until: nextOpening(now, schedule) };
  return null;
}

/** A running periodic stale release; see {@link startStaleRelease}. */
export interface StaleReleaseJob {
  /** Stop it (a run in progress finishes). */
  stop(): void;
}

/**
 * Run {@link Engine.releaseStale} for the given campaigns every `everyMs` (T4) until stopped. Runs
 * never overlap; a failure goes to `onError` (default: ignored) and the next run happens as planned.
 * The timer does not keep the process alive.
 */
export function startStaleRelease(
  engine: Engine,
  options: {
    campaignIds: readonly string[] | (() => Promise<readonly string[]>);
    everyMs: number;
    onReleased?: (campaignId: string, result: StaleReleaseResult) => void;
    onError?: (error: unknown) => void;
  },
): StaleReleaseJob {
  if (!(engine instanceof Engine)) v.fn(undefined, "engine");
  const o = v.object(options, "options");
  // setInterval takes at most 2^31 − 1 ms; beyond it Node fires every millisecond.
  const everyMs = v.integer(o.everyMs, "everyMs", 1000, 2 ** 31 - 1);
  const campaignIds = typeof o.campaignIds === "function" ? (o.campaignIds as () => Promise<readonly string[]>) : v.textList(o.campaignIds, "campaignIds", { allowEmpty: true });
  const onReleased = o.onReleased === undefined ? undefined : v.fn<(campaignId: string, result: StaleReleaseResult) => void>(o.onReleased, "onReleased");
  const onError = o.onError === undefined ? undefined : v.fn<(error: unknown) => void>(o.onError, "onError");
  let running = false;
  let stopped = false;
  const tick = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const ids = typeof campaignIds === "function" ? await campaignIds() : campaignIds;
      for (const campaignId of ids) {
        const result = await engine.releaseStale({ campaignId });
        if (result.released > 0) onReleased?.(campaignId, result);
      }
    } catch (error) {
      onError?.(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref?.();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

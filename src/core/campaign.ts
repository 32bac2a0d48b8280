/**
 * Campaign decisions (C1–C5, C7, S1, S5, S7, S9, L1–L4, A2–A6): pure functions from the campaign
 * aggregate, the organization and a command to the next aggregate, the bulk moves storage must run
 * and the events that describe the change. Nothing here executes anything.
 * @module
 */
import { produce } from "immer";
import { AssignmentError } from "../errors.js";
import type {
  Campaign,
  CampaignSchedule,
  CampaignStatus,
  Conversation,
  EventDraft,
  GatePolicy,
  Organization,
  StatusFilter,
} from "../types.js";
import { type Context, event, invalidState } from "./decision.js";
import {
  type MoveSpec,
  type Moved,
  assignedEvents,
  reassignedEvents,
  unassignedEvents,
} from "./moves.js";
import { assertManager } from "./organization.js";
import { acceptsRequests, gateLimits, isSender, roleOf } from "./policy.js";
import { allowedRanks, parseClock, withinTextingHours } from "./time.js";

/** A new campaign's schedule: 09:00–21:00 in America/New_York, no start or end date (T1, T3). */
export const DEFAULT_SCHEDULE: CampaignSchedule = {
  timeZone: "America/New_York",
  textingHoursStart: "09:00",
  textingHoursEnd: "21:00",
  startsAt: null,
  endsAt: null,
};

/** What a campaign decision asks the engine to commit atomically. */
export interface CampaignPlan {
  /** The next aggregate (the same object when it does not change). */
  readonly state: Campaign;
  /** Bulk moves to run in the same step. */
  readonly moves: readonly MoveSpec[];
  /** Events, built from what the moves moved. */
  readonly events: (moved: readonly (readonly Moved[])[]) => EventDraft[];
}

function plan(
  state: Campaign,
  events: EventDraft[],
  moves: readonly MoveSpec[] = [],
  movedEvents: (moved: readonly (readonly Moved[])[]) => EventDraft[] = () => [],
): CampaignPlan {
  return { state, moves, events: (moved) => [...events, ...movedEvents(moved)] };
}

function bump(draft: { version: number }): void {
  draft.version += 1;
}

function assertSameOrg(org: Organization, campaign: Campaign): void {
  if (org.id !== campaign.orgId) {
    throw new AssignmentError("INVALID_INPUT", "Organization does not own this campaign.", {
      details: { orgId: org.id, campaignId: campaign.id },
    });
  }
}

function assertNotArchived(campaign: Campaign): void {
  if (campaign.status === "archived") {
    invalidState(`Campaign "${campaign.id}" is archived; archived campaigns can only be read (C7).`, {
      campaignId: campaign.id,
      status: campaign.status,
    });
  }
}

/** A new draft campaign; self assignment off (S1), no senders, invite link disabled. */
export function createCampaign(
  org: Organization,
  input: { id: string; title: string },
  ctx: Context,
): Decision {
  assertManager(org, ctx.actorId);
  const state: Campaign = {
    id: input.id,
    orgId: org.id,
    title: input.title,
    status: "draft",
    createdAt: ctx.now,
    launchedAt: null,
    selfAssignment: {
      enabled: false,
      batchSize: null,
      gate: "no-pending-initials",
      maxHeldPerTexter: null,
      allowSelfRelease: false,
      releaseNotStartedAfterMs: null,
      releaseNeedsReplyAfterMs: null,
    },
    invite: { enabled: false, token: null, revokedTokens: [] },
    schedule: { ...DEFAULT_SCHEDULE },
    senders: [],
    bulkSend: null,
    version: 1,
  };
  return { state, events: [event("campaign.created", ctx, org.id, input.id, { title: input.title })] };
}

/** A decision that only changes the aggregate. */
export type Decision = {
  /** The next aggregate (the same object when nothing changes). */
  readonly state: Campaign;
  /** Events to record in the same atomic step. */
  readonly events: EventDraft[];
};

/** Settings a host may change (S1, S5, S7, S9, and the title). */
export interface CampaignSettingsPatch {
  /** New title. */
  readonly title?: string;
  /** Turn self assignment on or off. */
  readonly enabled?: boolean;
  /** Batch size, 1..5000. */
  readonly batchSize?: number;
  /** Finished-batch gate policy. */
  readonly gate?: GatePolicy;
  /** Per-texter cap, or `null` for none. */
  readonly maxHeldPerTexter?: number | null;
  /** Whether texters may release conversations. */
  readonly allowSelfRelease?: boolean;
  /** T4: idle texting time before a held not-started conversation is released, or `null`. */
  readonly releaseNotStartedAfterMs?: number | null;
  /** T4: idle texting time before a held unanswered reply is released, or `null`. */
  readonly releaseNeedsReplyAfterMs?: number | null;
  /** The campaign's IANA time zone (T1). */
  readonly timeZone?: string;
  /** Opening of texting hours, "HH:MM" (T1). */
  readonly textingHoursStart?: string;
  /** Closing of texting hours, "HH:MM", after the opening (T1). */
  readonly textingHoursEnd?: string;
  /** Start, epoch ms, or `null` (T3). */
  readonly startsAt?: number | null;
  /** End, epoch ms, or `null` (T3). */
  readonly endsAt?: number | null;
}

/**
 * Change settings (S1). When self assignment is enabled for the first time and no batch size was
 * ever set, the campaign takes the organization's default (O2); later changes to the default do not
 * touch it. Settings can change in draft and after launch, not once archived.
 */
export function updateSettings(
  org: Organization,
  campaign: Campaign,
  patch: CampaignSettingsPatch,
  ctx: Context,
): Decision {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  const changes: Record<string, unknown> = {};
  const state = produce(campaign, (d) => {
    const sa = d.selfAssignment;
    if (patch.title !== undefined && patch.title !== d.title) d.title = changes.title = patch.title;
    if (patch.enabled !== undefined && patch.enabled !== sa.enabled) sa.enabled = changes.enabled = patch.enabled;
    if (patch.batchSize !== undefined && patch.batchSize !== sa.batchSize) {
      sa.batchSize = changes.batchSize = patch.batchSize;
    }
    if (sa.enabled && sa.batchSize === null) sa.batchSize = changes.batchSize = org.defaultBatchSize;
    if (patch.gate !== undefined && patch.gate !== sa.gate) sa.gate = changes.gate = patch.gate;
    if (patch.maxHeldPerTexter !== undefined && patch.maxHeldPerTexter !== sa.maxHeldPerTexter) {
      sa.maxHeldPerTexter = changes.maxHeldPerTexter = patch.maxHeldPerTexter;
    }
    if (patch.allowSelfRelease !== undefined && patch.allowSelfRelease !== sa.allowSelfRelease) {
      sa.allowSelfRelease = changes.allowSelfRelease = patch.allowSelfRelease;
    }
    for (const key of ["releaseNotStartedAfterMs", "releaseNeedsReplyAfterMs"] as const) {
      const value = patch[key];
      if (value !== undefined && value !== sa[key]) sa[key] = changes[key] = value;
    }
    const sc = d.schedule;
    for (const key of ["timeZone", "textingHoursStart", "textingHoursEnd", "startsAt", "endsAt"] as const) {
      const value = patch[key];
      if (value !== undefined && value !== sc[key]) {
        (sc as Record<string, unknown>)[key] = value;
        changes[key] = value;
      }
    }
    if (Object.keys(changes).length > 0) bump(d);
  });
  if (state === campaign) return { state, events: [] };
  const sc = state.schedule;
  if (parseClock(sc.textingHoursEnd)! <= parseClock(sc.textingHoursStart)!) {
    throw new AssignmentError("INVALID_INPUT", `Texting hours must close after they open (T1); got ${sc.textingHoursStart}–${sc.textingHoursEnd}.`, {
      details: { field: "textingHoursEnd" },
    });
  }
  if (sc.startsAt !== null && sc.endsAt !== null && sc.endsAt <= sc.startsAt) {
    throw new AssignmentError("INVALID_INPUT", "A campaign must end after it starts (T3).", { details: { field: "endsAt" } });
  }
  return {
    state,
    events: [event("campaign.settings_changed", ctx, org.id, campaign.id, { changes })],
  };
}

/**
 * Launch (C1, C4): draft → active. If the campaign has senders, every unassigned open conversation
 * is split among them round-robin in roster order, in hand-out order — as even as possible, the
 * remainder going one each to the first senders. With no senders everything stays unassigned.
 * With `bulkSend` (C6) it becomes `bulk_sending` and nothing is split: the bulk send owns every
 * initial message, and texters get conversations only after theirs went out. (Storage finishes the
 * bulk send in the same step when nothing is pending: see {@link finishBulkSend}.)
 */
export function launch(org: Organization, campaign: Campaign, ctx: Context, options: { bulkSend?: boolean } = {}): CampaignPlan {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  if (campaign.status !== "draft") {
    invalidState(`Campaign "${campaign.id}" is ${campaign.status}; only a draft can be launched (C1, C7).`, {
      campaignId: campaign.id,
      status: campaign.status,
    });
  }
  const bulk = options.bulkSend === true;
  const to = bulk ? "bulk_sending" : "active";
  const state = produce(campaign, (d) => {
    d.status = to;
    d.launchedAt = ctx.now;
    if (bulk) d.bulkSend = { finishedAt: null };
    bump(d);
  });
  const senderIds = campaign.senders.map((s) => s.userId);
  const moves: MoveSpec[] =
    senderIds.length === 0 || bulk
      ? []
      : [{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: senderIds }];
  return {
    state,
    moves,
    events: (moved) => {
      const conversations = (moved[0] ?? []).map((m) => m.conversation);
      return [
        event("campaign.status_changed", ctx, org.id, campaign.id, { from: "draft", to }),
        event("campaign.launched", ctx, org.id, campaign.id, { assigned: conversations.length }),
        ...assignedEvents(ctx, org.id, campaign.id, conversations, "launch"),
      ];
    },
  };
}

/** True while a bulk send owns the campaign's initial messages (C6): launched with one, not yet finished, not archived. */
export function bulkSendRunning(campaign: Campaign): boolean {
  return campaign.bulkSend !== null && campaign.bulkSend.finishedAt === null && campaign.status !== "archived";
}

const STATUS_CHANGES: Record<"pause" | "resume" | "archive", { from: CampaignStatus[]; to: CampaignStatus }> = {
  pause: { from: ["active", "bulk_sending"], to: "paused" },
  resume: { from: ["paused"], to: "active" },
  archive: { from: ["active", "paused", "bulk_sending"], to: "archived" },
};

/**
 * Pause (active or bulk sending → paused, C6: pausing stops the bulk send), resume (paused → active,
 * or back to bulk sending while its bulk send has pending initial messages) or archive (active,
 * bulk sending or paused → archived, final) (C1).
 */
export function changeStatus(
  org: Organization,
  campaign: Campaign,
  change: "pause" | "resume" | "archive",
  ctx: Context,
): Decision {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  const rule = STATUS_CHANGES[change];
  if (!rule.from.includes(campaign.status)) {
    invalidState(
      `Cannot ${change} campaign "${campaign.id}" while it is ${campaign.status}; allowed from ${rule.from.join(" or ")} (C1).`,
      { campaignId: campaign.id, status: campaign.status },
    );
  }
  const to = change === "resume" && bulkSendRunning(campaign) ? "bulk_sending" : rule.to;
  const state = produce(campaign, (d) => {
    d.status = to;
    bump(d);
  });
  return {
    state,
    events: [event("campaign.status_changed", ctx, org.id, campaign.id, { from: campaign.status, to })],
  };
}

/** Enable the invite link with a fresh token (L1, L4). Needs self assignment enabled. Already enabled: unchanged. */
export function enableInviteLink(
  org: Organization,
  campaign: Campaign,
  token: string,
  ctx: Context,
): Decision {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  if (!campaign.selfAssignment.enabled) {
    invalidState("Enable self assignment before enabling the sender invite link (L1).", {
      campaignId: campaign.id,
    });
  }
  if (campaign.invite.enabled) return { state: campaign, events: [] };
  const state = produce(campaign, (d) => {
    d.invite.enabled = true;
    d.invite.token = token;
    bump(d);
  });
  return { state, events: [event("campaign.invite_link_enabled", ctx, org.id, campaign.id, {})] };
}

/** Disable the invite link, revoking its token for good (L4). Already disabled: unchanged. */
export function disableInviteLink(org: Organization, campaign: Campaign, ctx: Context): Decision {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  if (!campaign.invite.enabled || campaign.invite.token === null) return { state: campaign, events: [] };
  const revoked = campaign.invite.token;
  const state = produce(campaign, (d) => {
    d.invite.enabled = false;
    d.invite.token = null;
    d.invite.revokedTokens.push(revoked);
    bump(d);
  });
  return { state, events: [event("campaign.invite_link_disabled", ctx, org.id, campaign.id, {})] };
}

/** Add senders (C3, C5): organization members only; existing senders are skipped. Nothing is assigned. */
export function addSenders(
  org: Organization,
  campaign: Campaign,
  userIds: readonly string[],
  ctx: Context,
): Decision {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  const strangers = userIds.filter((u) => roleOf(org, u) === undefined);
  if (strangers.length > 0) {
    throw new AssignmentError(
      "NOT_A_MEMBER",
      `Only organization members can be senders (C3); not members: ${strangers.join(", ")}.`,
      { details: { campaignId: campaign.id, userIds: strangers } },
    );
  }
  const fresh = [...new Set(userIds)].filter((u) => !isSender(campaign, u));
  if (fresh.length === 0) return { state: campaign, events: [] };
  const state = produce(campaign, (d) => {
    for (const userId of fresh) d.senders.push({ userId, addedAt: ctx.now, via: "admin" });
    bump(d);
  });
  return {
    state,
    events: fresh.map((texterId) =>
      event("sender.joined", ctx, org.id, campaign.id, { texterId, via: "admin" }),
    ),
  };
}

function assertSenders(campaign: Campaign, userIds: readonly string[], role: string): void {
  const missing = userIds.filter((u) => !isSender(campaign, u));
  if (missing.length > 0) {
    throw new AssignmentError(
      "NOT_A_SENDER",
      `${role} must be senders on campaign "${campaign.id}" (A5); not senders: ${missing.join(", ")}.`,
      { details: { campaignId: campaign.id, userIds: missing } },
    );
  }
}

/**
 * Remove a sender (C3). Their open conversations go to `reassignTo` round-robin when given (those
 * targets must be other senders, A5), otherwise back to the pool; their closed and opted-out
 * conversations become unassigned either way, so nobody but a sender ever holds a conversation.
 */
export function removeSender(
  org: Organization,
  campaign: Campaign,
  input: { userId: string; reassignTo: readonly string[] },
  ctx: Context,
): CampaignPlan {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  assertSenders(campaign, [input.userId], "The removed user");
  if (input.reassignTo.includes(input.userId)) {
    throw new AssignmentError("INVALID_INPUT", "Cannot reassign a removed sender's conversations to themselves.", {
      details: { campaignId: campaign.id, userId: input.userId },
    });
  }
  assertSenders(campaign, input.reassignTo, "Reassignment targets");
  const state = produce(campaign, (d) => {
    d.senders = d.senders.filter((s) => s.userId !== input.userId);
    bump(d);
  });
  const from = { kind: "holders", holderIds: [input.userId] } as const;
  const targets = [...new Set(input.reassignTo)];
  const moves: MoveSpec[] =
    targets.length > 0
      ? [
          { from, statuses: "open", limit: null, to: targets },
          { from, statuses: "all", limit: null, to: null },
        ]
      : [{ from, statuses: "all", limit: null, to: null }];
  return plan(
    state,
    [event("sender.removed", ctx, org.id, campaign.id, { texterId: input.userId })],
    moves,
    (moved) =>
      targets.length > 0
        ? [
            ...reassignedEvents(ctx, org.id, campaign.id, moved[0] ?? []),
            ...unassignedEvents(ctx, org.id, campaign.id, moved[1] ?? [], "sender_removed"),
          ]
        : unassignedEvents(ctx, org.id, campaign.id, moved[0] ?? [], "sender_removed"),
  );
}

/** Bulk Unassign All (A2): every assigned conversation becomes unassigned, whatever its status. */
export function unassignAll(org: Organization, campaign: Campaign, ctx: Context): CampaignPlan {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  return plan(
    campaign,
    [],
    [{ from: { kind: "all_holders" }, statuses: "all", limit: null, to: null }],
    (moved) => unassignedEvents(ctx, org.id, campaign.id, moved[0] ?? [], "unassign_all"),
  );
}

/** Source of a reassignment (A3, A4): the unassigned pool or named senders. */
export type ReassignSource =
  | "unassigned"
  | {
      /** Move conversations held by these senders. */
      readonly senderIds: readonly string[];
    };

/**
 * Reassign Some (A3, `count` given) or Reassign All (A4, `count` null): move the conversations
 * matching the filter from the source, in hand-out order, round-robin across the target senders.
 * `any` means every open conversation (closed and opted-out ones are never reassigned).
 */
export function reassign(
  org: Organization,
  campaign: Campaign,
  input: { from: ReassignSource; filter: StatusFilter; count: number | null; to: readonly string[] },
  ctx: Context,
): CampaignPlan {
  assertSameOrg(org, campaign);
  assertManager(org, ctx.actorId, { campaignId: campaign.id });
  assertNotArchived(campaign);
  if (campaign.status === "draft") {
    invalidState("Launch the campaign before reassigning; at launch conversations are split among senders (C4).", {
      campaignId: campaign.id,
    });
  }
  const targets = [...new Set(input.to)];
  assertSenders(campaign, targets, "Reassignment targets");
  if (input.from !== "unassigned") assertSenders(campaign, input.from.senderIds, "Source senders");
  // C6: while the bulk send owns the initial messages, no not-started work goes to a texter.
  const bulk = bulkSendRunning(campaign);
  if (bulk && input.filter === "not_started") return plan(campaign, []);
  const move: MoveSpec = {
    from:
      input.from === "unassigned"
        ? { kind: "unassigned" }
        : { kind: "holders", holderIds: [...new Set(input.from.senderIds)] },
    statuses: input.filter === "any" ? (bulk ? "started" : "open") : input.filter,
    limit: input.count,
    to: targets,
  };
  return plan(campaign, [], [move], (moved) =>
    reassignedEvents(ctx, org.id, campaign.id, moved[0] ?? []),
  );
}

/** Why a request or an invite join was refused. Stable codes, in the order S2 checks them. */
export type RefusalReason =
  | "campaign_not_active"
  | "self_assignment_disabled"
  | "not_a_sender"
  | "outside_texting_hours"
  | "batch_unfinished"
  | "cap_reached"
  | "nothing_available";

/** The claim a successful pre-check asks storage for. */
export interface ClaimPlan {
  /** Batch size. */
  readonly limit: number;
  /** Cap on what the texter holds after the claim (S7). */
  readonly maxHeld: number | null;
  /** Gate limits (S5). */
  readonly gate: {
    /** Most pending initials the texter may hold. */
    readonly maxNotStarted: number | null;
    /** Most unanswered replies the texter may hold. */
    readonly maxNeedsReply: number | null;
  };
  /** Hand-out ranks the claim may take (T3). */
  readonly ranks: readonly (0 | 1 | 2)[];
  /** Whether a contact's zone is inside texting hours now (T2). */
  readonly contactZoneOpen: (timeZone: string) => boolean;
}

function claimPlan(campaign: Campaign, now: number): ClaimPlan {
  const sa = campaign.selfAssignment;
  const ranks = allowedRanks(now, campaign.schedule);
  return {
    limit: sa.batchSize ?? 1,
    maxHeld: sa.maxHeldPerTexter,
    gate: gateLimits(sa.gate),
    // C6: while the bulk send owns the initial messages, nothing not-started is handed to a texter.
    ranks: bulkSendRunning(campaign) ? ranks.filter((r) => r !== 1) : ranks,
    contactZoneOpen: (timeZone) => withinTextingHours(now, { ...campaign.schedule, timeZone }),
  };
}

/**
 * The bulk send has nothing left pending (C6): storage calls this in the same atomic step as the
 * change that left nothing pending (the last acknowledgement, an opt-out, a close, the host
 * recording a send itself, a launch with nothing to send). The bulk send is marked finished and a
 * `bulk_sending` campaign becomes `active`; a paused one stays paused (and resumes as active).
 * Anything else — no bulk send, already finished, archived — is returned unchanged.
 */
export function finishBulkSend(campaign: Campaign, now: number): Decision {
  if (!bulkSendRunning(campaign)) return { state: campaign, events: [] };
  const ctx: Context = { now, actorId: null };
  const to = campaign.status === "bulk_sending" ? "active" : campaign.status;
  const state = produce(campaign, (d) => {
    d.bulkSend = { finishedAt: now };
    d.status = to;
    bump(d);
  });
  return {
    state,
    events: [
      event("campaign.bulk_send_finished", ctx, campaign.orgId, campaign.id, {}),
      ...(to === campaign.status ? [] : [event("campaign.status_changed", ctx, campaign.orgId, campaign.id, { from: campaign.status, to })]),
    ],
  };
}

/**
 * *Request Conversations* pre-checks (S2), in order: campaign accepting requests, self assignment
 * on, texter a sender (and still a member). The gate, the cap and the pool are checked by storage
 * in the claim's atomic step.
 */
export function decideRequest(
  org: Organization,
  campaign: Campaign,
  texterId: string,
  now: number,
): { kind: "refuse"; reason: RefusalReason } | { kind: "claim"; claim: ClaimPlan } {
  assertSameOrg(org, campaign);
  if (!acceptsRequests(campaign)) return { kind: "refuse", reason: "campaign_not_active" };
  if (!campaign.selfAssignment.enabled) return { kind: "refuse", reason: "self_assignment_disabled" };
  if (!isSender(campaign, texterId) || roleOf(org, texterId) === undefined) {
    return { kind: "refuse", reason: "not_a_sender" };
  }
  if (!withinTextingHours(now, campaign.schedule)) return { kind: "refuse", reason: "outside_texting_hours" };
  return { kind: "claim", claim: claimPlan(campaign, now) };
}

/** Why an invite join was refused (L2). */
export type JoinRefusalReason =
  | "invalid_token"
  | "token_revoked"
  | "not_a_member"
  | "campaign_not_active"
  | "self_assignment_disabled"
  | "outside_texting_hours";

/**
 * Invite join pre-checks (L2) and the aggregate change (L3): the member becomes a sender (if not
 * already) and, when they hold nothing, gets a first batch — a claim with `onlyIfHoldingNone`.
 */
export function decideJoin(
  org: Organization,
  campaign: Campaign,
  token: string,
  userId: string,
  ctx: Context,
):
  | { kind: "refuse"; reason: JoinRefusalReason }
  | { kind: "join"; state: Campaign; alreadySender: boolean; claim: ClaimPlan; events: EventDraft[] } {
  assertSameOrg(org, campaign);
  if (campaign.invite.token !== token || !campaign.invite.enabled) {
    return {
      kind: "refuse",
      reason: campaign.invite.revokedTokens.includes(token) ? "token_revoked" : "invalid_token",
    };
  }
  if (roleOf(org, userId) === undefined) return { kind: "refuse", reason: "not_a_member" };
  if (campaign.status !== "active") return { kind: "refuse", reason: "campaign_not_active" };
  if (!campaign.selfAssignment.enabled) return { kind: "refuse", reason: "self_assignment_disabled" };
  if (!withinTextingHours(ctx.now, campaign.schedule)) return { kind: "refuse", reason: "outside_texting_hours" };
  const alreadySender = isSender(campaign, userId);
  if (alreadySender) {
    return { kind: "join", state: campaign, alreadySender, claim: claimPlan(campaign, ctx.now), events: [] };
  }
  const state = produce(campaign, (d) => {
    d.senders.push({ userId, addedAt: ctx.now, via: "invite" });
    bump(d);
  });
  return {
    kind: "join",
    state,
    alreadySender,
    claim: claimPlan(campaign, ctx.now),
    events: [event("sender.joined", ctx, org.id, campaign.id, { texterId: userId, via: "invite" })],
  };
}

/** Events of a successful claim. */
export function claimEvents(
  ctx: Context,
  campaign: Campaign,
  claimed: readonly Conversation[],
  reason: "request" | "invite",
): EventDraft[] {
  return assignedEvents(ctx, campaign.orgId, campaign.id, claimed, reason);
}

/**
 * Campaign decisions (C1, C4, C6, C7, S1, L1, L4, T1, T3): pure functions from the aggregate, the
 * actor and a command to a plan — the next aggregate, moves, the facts. Nothing here executes
 * anything; senders and conversations are rows in storage.
 * @module
 */
import { produce } from "immer";
import { AssignmentError } from "../errors.js";
import type { Campaign, CampaignSchedule, CampaignStatus, GatePolicy, Organization, SelfAssignmentSettings } from "../types.js";
import { type Actor, type CampaignPlan, NOTHING } from "./changes.js";
import { type Context, event, invalidState } from "./decision.js";
import { assertManager } from "./organization.js";
import { nextOpening } from "./next-opening.js";
import { allowedRanks, parseClock, withinTextingHours } from "./time.js";

/** A new campaign's schedule: 09:00–21:00 in America/New_York, no start or end date (T1, T3). */
export const DEFAULT_SCHEDULE: CampaignSchedule = {
  timeZone: "America/New_York",
  textingHoursStart: "09:00",
  textingHoursEnd: "21:00",
  startsAt: null,
  endsAt: null,
};

function bump(draft: { version: number }): void {
  draft.version += 1;
}

/** Throw unless the actor may manage this campaign (A6); the error says nothing about the campaign's organization. */
export function assertCampaignManager(campaign: Campaign, actor: Actor): void {
  assertManager(actor, { campaignId: campaign.id });
}

/** Throw `INVALID_STATE` for an archived campaign (C7: it can only be read). */
export function assertNotArchived(campaign: Campaign): void {
  if (campaign.status === "archived") {
    invalidState(`Campaign "${campaign.id}" is archived; archived campaigns can only be read (C7).`, { campaignId: campaign.id, status: campaign.status });
  }
}

/** A plan that replaces the aggregate and records facts. */
function change(next: Campaign, facts: CampaignPlan["facts"]): CampaignPlan {
  return { next, senders: null, moves: [], facts };
}

/** A new draft campaign; self assignment off (S1), no senders, invite link disabled. */
export function createCampaign(org: Organization, actor: Actor, input: { id: string; title: string }, ctx: Context): CampaignPlan & { next: Campaign } {
  assertManager(actor, { orgId: org.id });
  const next: Campaign = {
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
    bulkSend: null,
    version: 1,
  };
  return { next, senders: null, moves: [], facts: [event("campaign.created", ctx, org.id, input.id, { title: input.title })] };
}

/** Settings a host may change (S1, S5, S7, S9, T1, T3, T4, and the title). */
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

/** Where each setting lives in the aggregate. Typed over every key of the patch, so a new setting cannot be left out. */
export const SETTING_PLACES: { readonly [K in keyof CampaignSettingsPatch]-?: "campaign" | "selfAssignment" | "schedule" } = {
  title: "campaign",
  enabled: "selfAssignment",
  batchSize: "selfAssignment",
  gate: "selfAssignment",
  maxHeldPerTexter: "selfAssignment",
  allowSelfRelease: "selfAssignment",
  releaseNotStartedAfterMs: "selfAssignment",
  releaseNeedsReplyAfterMs: "selfAssignment",
  timeZone: "schedule",
  textingHoursStart: "schedule",
  textingHoursEnd: "schedule",
  startsAt: "schedule",
  endsAt: "schedule",
};

/**
 * Change settings (S1). When self assignment is enabled for the first time and no batch size was
 * ever set, the campaign takes the organization's default (O2); later changes to the default do not
 * touch it. Settings can change in draft and after launch, not once archived.
 */
export function updateSettings(campaign: Campaign, actor: Actor, patch: CampaignSettingsPatch, defaultBatchSize: number, ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  const changes: Record<string, unknown> = {};
  const next = produce(campaign, (d) => {
    for (const key of Object.keys(SETTING_PLACES) as (keyof CampaignSettingsPatch)[]) {
      const value = patch[key];
      const place = SETTING_PLACES[key];
      const target = (place === "campaign" ? d : d[place]) as Record<string, unknown>;
      if (value !== undefined && value !== target[key]) target[key] = changes[key] = value;
    }
    const sa: { -readonly [K in keyof SelfAssignmentSettings]: SelfAssignmentSettings[K] } = d.selfAssignment;
    if (sa.enabled && sa.batchSize === null) sa.batchSize = changes.batchSize = defaultBatchSize;
    if (Object.keys(changes).length > 0) bump(d);
  });
  if (next === campaign) return NOTHING;
  const sc = next.schedule;
  if (parseClock(sc.textingHoursEnd)! <= parseClock(sc.textingHoursStart)!) {
    throw new AssignmentError("INVALID_INPUT", `Texting hours must close after they open (T1); got ${sc.textingHoursStart}–${sc.textingHoursEnd}.`, {
      details: { field: "textingHoursEnd" },
    });
  }
  if (sc.startsAt !== null && sc.endsAt !== null && sc.endsAt <= sc.startsAt) {
    throw new AssignmentError("INVALID_INPUT", "A campaign must end after it starts (T3).", { details: { field: "endsAt" } });
  }
  return change(next, [event("campaign.settings_changed", ctx, campaign.orgId, campaign.id, { changes })]);
}

/**
 * Launch (C1, C4): draft → active. Every unassigned open conversation is split among the senders
 * round-robin in roster order, in hand-out order — as even as possible, the remainder going one each
 * to the first senders; with no senders everything stays unassigned. With `bulkSend` (C6) it becomes
 * `bulk_sending` and nothing is split: the bulk send owns every initial message, and texters get
 * conversations only after theirs went out (storage finishes the bulk send in the same step when
 * nothing is pending: {@link finishBulkSend}).
 */
export function launch(campaign: Campaign, actor: Actor, bulkSend: boolean, ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  if (campaign.status !== "draft") {
    invalidState(`Campaign "${campaign.id}" is ${campaign.status}; only a draft can be launched (C1, C7).`, { campaignId: campaign.id, status: campaign.status });
  }
  const to = bulkSend ? "bulk_sending" : "active";
  const next = produce(campaign, (d) => {
    d.status = to;
    d.launchedAt = ctx.now;
    if (bulkSend) d.bulkSend = { finishedAt: null };
    bump(d);
  });
  return {
    next,
    senders: null,
    moves: bulkSend ? [] : [{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: "senders", reason: "launch" }],
    facts: [event("campaign.status_changed", ctx, campaign.orgId, campaign.id, { from: "draft", to }), event("campaign.launched", ctx, campaign.orgId, campaign.id, { bulkSend })],
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
 * Pause (active or bulk sending → paused; C6: pausing stops the bulk send), resume (paused → active,
 * or back to bulk sending while its bulk send has pending initial messages) or archive (active, bulk
 * sending or paused → archived, final) (C1).
 */
export function changeStatus(campaign: Campaign, actor: Actor, kind: "pause" | "resume" | "archive", ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  const rule = STATUS_CHANGES[kind];
  if (!rule.from.includes(campaign.status)) {
    invalidState(`Cannot ${kind} campaign "${campaign.id}" while it is ${campaign.status}; allowed from ${rule.from.join(" or ")} (C1).`, {
      campaignId: campaign.id,
      status: campaign.status,
    });
  }
  const to = kind === "resume" && bulkSendRunning(campaign) ? "bulk_sending" : rule.to;
  const next = produce(campaign, (d) => {
    d.status = to;
    bump(d);
  });
  return change(next, [event("campaign.status_changed", ctx, campaign.orgId, campaign.id, { from: campaign.status, to })]);
}

/** Enable the invite link with a fresh token (L1, L4). Needs self assignment enabled. Already enabled: unchanged. */
export function enableInviteLink(campaign: Campaign, actor: Actor, token: string, ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  if (!campaign.selfAssignment.enabled) invalidState("Enable self assignment before enabling the sender invite link (L1).", { campaignId: campaign.id });
  if (campaign.invite.enabled) return NOTHING;
  const next = produce(campaign, (d) => {
    d.invite.enabled = true;
    d.invite.token = token;
    bump(d);
  });
  return change(next, [event("campaign.invite_link_enabled", ctx, campaign.orgId, campaign.id, {})]);
}

/** Disable the invite link, revoking its token for good (L4). Already disabled: unchanged. */
export function disableInviteLink(campaign: Campaign, actor: Actor, ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  const revoked = campaign.invite.token;
  if (!campaign.invite.enabled || revoked === null) return NOTHING;
  const next = produce(campaign, (d) => {
    d.invite.enabled = false;
    d.invite.token = null;
    d.invite.revokedTokens.push(revoked);
    bump(d);
  });
  return change(next, [event("campaign.invite_link_disabled", ctx, campaign.orgId, campaign.id, {})]);
}

/** What {@link finishBulkSend} asks storage to store and record. */
export interface BulkSendFinish {
  /** The campaign after (the same object when nothing changes). */
  readonly state: Campaign;
  /** Facts to record in the same step. */
  readonly facts: CampaignPlan["facts"];
}

/**
 * The bulk send has nothing left pending (C6). Storage applies it in the same atomic step as the
 * change that left nothing pending (the last acknowledgement, an opt-out, a close, the host recording
 * a send itself, a launch with nothing to send): the bulk send is marked finished and a `bulk_sending`
 * campaign becomes `active`; a paused one stays paused (and resumes as active). Anything else is
 * returned unchanged. The facts have no actor.
 */
export function finishBulkSend(campaign: Campaign, now: number): BulkSendFinish {
  if (!bulkSendRunning(campaign)) return { state: campaign, facts: [] };
  const ctx: Context = { now, actorId: null };
  const to = campaign.status === "bulk_sending" ? "active" : campaign.status;
  const state = produce(campaign, (d) => {
    d.bulkSend = { finishedAt: now };
    d.status = to;
    bump(d);
  });
  return {
    state,
    facts: [
      event("campaign.bulk_send_finished", ctx, campaign.orgId, campaign.id, {}),
      ...(to === campaign.status ? [] : [event("campaign.status_changed", ctx, campaign.orgId, campaign.id, { from: campaign.status, to })]),
    ],
  };
}

/** C2: contacts are imported into a draft or active campaign only. */
export function assertImportable(campaign: Campaign, actor: Actor): void {
  assertCampaignManager(campaign, actor);
  if (campaign.status !== "draft" && campaign.status !== "active") {
    invalidState(`Contacts can be imported into a draft or active campaign (C2); "${campaign.id}" is ${campaign.status}.`, {
      campaignId: campaign.id,
      status: campaign.status,
    });
  }
}

/**
 * Why a bulk send cannot go on now (C6, T1–T3), and when it may (epoch ms, or `null` when no time
 * will do: an admin must act, or the campaign is over).
 */
export interface BulkSendWait {
  /**
   * `paused` (resume it), `archived` (it will not go on), `before_start` / `campaign_ended` (T3),
   * `outside_texting_hours` (T1), `outside_contact_hours` (T2: what is left waits for its contacts' hours).
   */
  readonly reason: "paused" | "archived" | "before_start" | "campaign_ended" | "outside_texting_hours" | "outside_contact_hours";
  /** When it may go on, or `null`. */
  readonly until: number | null;
}

/** Why a bulk send that has not finished cannot go on at `now` for campaign-wide reasons (a pause, T1, T3), or `null`. */
export function bulkSendWait(campaign: Campaign, now: number): BulkSendWait | null {
  if (campaign.bulkSend === null || campaign.bulkSend.finishedAt !== null) return null;
  if (campaign.status === "paused") return { reason: "paused", until: null };
  if (campaign.status === "archived") return { reason: "archived", until: null };
  const schedule = campaign.schedule;
  if (!allowedRanks(now, schedule).includes(1)) {
    return schedule.endsAt !== null && now >= schedule.endsAt ? { reason: "campaign_ended", until: null } : { reason: "before_start", until: schedule.startsAt };
  }
  if (!withinTextingHours(now, schedule)) return { reason: "outside_texting_hours", until: nextOpening(now, schedule) };
  return null;
}

/** T2 for a bulk send: the earliest opening among the closed contact zones that still have pending work. */
export function contactZonesWait(campaign: Campaign, closedZones: readonly string[], now: number): BulkSendWait | null {
  if (closedZones.length === 0) return null;
  return { reason: "outside_contact_hours", until: Math.min(...closedZones.map((timeZone) => nextOpening(now, { ...campaign.schedule, timeZone }))) };
}

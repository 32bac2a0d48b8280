/**
 * Who gets which conversations (C3, C5, S2–S9, L2, L3, A2–A6): sender changes, admin moves, the
 * pre-checks of requests and invite joins and the claims they ask storage for, and who may read or
 * hand back what. Pure functions; storage checks the row-level rules (members, senders, the gate)
 * inside its step.
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { Campaign, Role, Sender, StatusFilter } from "../types.js";
import { assertCampaignManager, assertNotArchived, bulkSendRunning } from "./campaign.js";
import { type Actor, type CampaignPlan, NOTHING } from "./changes.js";
import { type Context, event, invalidState } from "./decision.js";
import type { MoveSpec } from "./moves.js";
import { assertManager } from "./organization.js";
import { acceptsRequests, canManage, gateLimits } from "./policy.js";
import { allowedRanks, withinTextingHours } from "./time.js";

/** Add senders (C3, C5): storage adds those not yet senders and refuses non-members. Nothing is assigned. */
export function addSenders(campaign: Campaign, actor: Actor, userIds: readonly string[]): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  return { next: null, senders: { kind: "add", userIds: [...new Set(userIds)], via: "admin" }, moves: [], facts: [] };
}

/**
 * Remove a sender (C3). Their open conversations go to `reassignTo` round-robin when given (other
 * senders, A5), otherwise back to the pool; their closed and opted-out conversations become unassigned
 * either way, so nobody but a sender ever holds a conversation. Storage refuses a user who is not a
 * sender and targets who are not senders.
 */
export function removeSender(campaign: Campaign, actor: Actor, input: { userId: string; reassignTo: readonly string[] }, ctx: Context): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  if (input.reassignTo.includes(input.userId)) {
    throw new AssignmentError("INVALID_INPUT", "Cannot reassign a removed sender's conversations to themselves.", {
      details: { campaignId: campaign.id, userId: input.userId },
    });
  }
  const from = { kind: "holders", holderIds: [input.userId] } as const;
  const targets = [...new Set(input.reassignTo)];
  const moves: MoveSpec[] = [
    ...(targets.length > 0 ? [{ from, statuses: "open", limit: null, to: targets, reason: "reassign" } as const] : []),
    { from, statuses: "all", limit: null, to: null, reason: "sender_removed" },
  ];
  return { next: null, senders: { kind: "remove", userId: input.userId }, moves, facts: [event("sender.removed", ctx, campaign.orgId, campaign.id, { texterId: input.userId })] };
}

/** Bulk Unassign All (A2): every assigned conversation becomes unassigned, whatever its status. */
export function unassignAll(campaign: Campaign, actor: Actor): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  return { ...NOTHING, moves: [{ from: { kind: "all_holders" }, statuses: "all", limit: null, to: null, reason: "unassign_all" }] };
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
 * matching the filter from the source, in hand-out order, round-robin across the target senders (A5,
 * checked by storage). `any` means every open conversation; while a bulk send runs (C6) no
 * not-started work goes to a texter.
 */
export function reassign(
  campaign: Campaign,
  actor: Actor,
  input: { from: ReassignSource; filter: StatusFilter; count: number | null; to: readonly string[] },
): CampaignPlan {
  assertCampaignManager(campaign, actor);
  assertNotArchived(campaign);
  if (campaign.status === "draft") {
    invalidState("Launch the campaign before reassigning; at launch conversations are split among senders (C4).", { campaignId: campaign.id });
  }
  const bulk = bulkSendRunning(campaign);
  if (bulk && input.filter === "not_started") return NOTHING;
  const move: MoveSpec = {
    from: input.from === "unassigned" ? { kind: "unassigned" } : { kind: "holders", holderIds: [...new Set(input.from.senderIds)] },
    statuses: input.filter === "any" ? (bulk ? "started" : "open") : input.filter,
    limit: input.count,
    to: [...new Set(input.to)],
    reason: "reassign",
  };
  return { ...NOTHING, moves: [move] };
}

/** Why a request was refused. Stable codes, in the order S2 checks them. */
export type RefusalReason =
  | "campaign_not_active"
  | "self_assignment_disabled"
  | "not_a_sender"
  | "outside_texting_hours"
  | "batch_unfinished"
  | "cap_reached"
  | "nothing_available";

/** Why an invite join was refused (L2). */
export type JoinRefusalReason = "invalid_token" | "token_revoked" | "not_a_member" | "campaign_not_active" | "self_assignment_disabled" | "outside_texting_hours";

/** The claim a successful pre-check asks storage for (see `ClaimRequest`). */
export interface ClaimPlan {
  /** Batch size. */
  readonly limit: number;
  /** Cap on what the texter holds after the claim (S7). */
  readonly maxHeld: number | null;
  /** Gate limits (S5). */
  readonly gate: { readonly maxNotStarted: number | null; readonly maxNeedsReply: number | null };
  /** Hand-out ranks the claim may take (T3, C6). */
  readonly ranks: readonly (0 | 1 | 2)[];
  /** T2 rule as data. */
  readonly contactZones: { readonly now: number; readonly textingHoursStart: string; readonly textingHoursEnd: string };
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
    contactZones: { now, textingHoursStart: campaign.schedule.textingHoursStart, textingHoursEnd: campaign.schedule.textingHoursEnd },
  };
}

/**
 * *Request Conversations* pre-checks (S2), in order: the campaign accepts requests, self assignment
 * is on, the texter is a sender (and still a member), texting hours (T1). The gate, the cap and the
 * pool are checked by storage in the claim's step.
 */
export function decideRequest(
  campaign: Campaign,
  texter: { readonly role: Role | null; readonly sender: Sender | null },
  now: number,
): { kind: "refuse"; reason: RefusalReason } | { kind: "claim"; claim: ClaimPlan } {
  if (!acceptsRequests(campaign)) return { kind: "refuse", reason: "campaign_not_active" };
  if (!campaign.selfAssignment.enabled) return { kind: "refuse", reason: "self_assignment_disabled" };
  if (texter.sender === null || texter.role === null) return { kind: "refuse", reason: "not_a_sender" };
  if (!withinTextingHours(now, campaign.schedule)) return { kind: "refuse", reason: "outside_texting_hours" };
  return { kind: "claim", claim: claimPlan(campaign, now) };
}

/**
 * Invite join pre-checks (L2): the token, membership, the campaign's state, self assignment, texting
 * hours. On success storage adds the sender (if not one yet) and gives a first batch to a member who
 * holds nothing (L3, I7) in one step.
 */
export function decideJoin(
  campaign: Campaign,
  token: string,
  member: { readonly role: Role | null; readonly sender: Sender | null },
  now: number,
): { kind: "refuse"; reason: JoinRefusalReason } | { kind: "join"; alreadySender: boolean; claim: ClaimPlan } {
  if (campaign.invite.token !== token || !campaign.invite.enabled) {
    return { kind: "refuse", reason: campaign.invite.revokedTokens.includes(token) ? "token_revoked" : "invalid_token" };
  }
  if (member.role === null) return { kind: "refuse", reason: "not_a_member" };
  if (campaign.status !== "active") return { kind: "refuse", reason: "campaign_not_active" };
  if (!campaign.selfAssignment.enabled) return { kind: "refuse", reason: "self_assignment_disabled" };
  if (!withinTextingHours(now, campaign.schedule)) return { kind: "refuse", reason: "outside_texting_hours" };
  return { kind: "join", alreadySender: member.sender !== null, claim: claimPlan(campaign, now) };
}

/** Who may read a texter's assignment view (S6): the texter themselves (a member), or an owner or admin. */
export function assertMayView(campaign: Campaign, actor: Actor, texterId: string): void {
  if (actor.id !== texterId || actor.role === null) assertCampaignManager(campaign, actor);
}

/**
 * Who may hand conversations back (S9): owners and admins anybody's (an admin release); a texter only
 * their own, and only when the campaign allows self release. Never on an archived campaign (C7).
 */
export function decideRelease(campaign: Campaign, actor: Actor): { heldBy: string | null; reason: "self_release" | "admin_release" } {
  const admin = canManage(actor.role ?? undefined);
  if (!admin) {
    if (actor.role === null) assertManager(actor, { campaignId: campaign.id });
    if (!campaign.selfAssignment.allowSelfRelease) {
      throw new AssignmentError("SELF_RELEASE_NOT_ALLOWED", `Campaign "${campaign.id}" does not let texters hand conversations back (S9); ask an admin.`, {
        details: { campaignId: campaign.id },
      });
    }
  }
  assertNotArchived(campaign);
  return admin ? { heldBy: null, reason: "admin_release" } : { heldBy: actor.id, reason: "self_release" };
}

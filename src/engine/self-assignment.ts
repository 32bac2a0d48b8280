/**
 * Self assignment: *Request Conversations* (S2–S8), invite joins (L2, L3), a texter's view (S6) and
 * handing conversations back (S9).
 * @module
 */
import { assertMayView, decideJoin, decideRelease, decideRequest, type ClaimPlan } from "../core/assignment.js";
import { AssignmentError } from "../errors.js";
import type { ClaimOutcome } from "../storage/pool.js";
import { nextOpening } from "../core/next-opening.js";
import type { Campaign, Conversation } from "../types.js";
import type { AssignmentViewFilter, JoinResult, Page, ReleaseResult, RequestResult } from "./results.js";
import { pager } from "./cursors.js";
import * as s from "./schema.js";
import { AGAIN, type Shell } from "./shell.js";

const RequestInput = s.object({ campaignId: s.text, texterId: s.text, idempotencyKey: s.optional(s.text), signal: s.optional(s.signal) });
const JoinInput = s.object({ token: s.wellFormed, userId: s.text, signal: s.optional(s.signal) });
const ViewInput = s.object({
  actorId: s.text,
  campaignId: s.text,
  texterId: s.text,
  filter: s.withDefault(s.oneOf<AssignmentViewFilter>("all", "actionable"), "all"),
  cursor: s.nullable(s.text),
  limit: s.withDefault(s.int(1, 10_000), 10_000),
});
const ReleaseInput = s.object({ actorId: s.text, campaignId: s.text, conversationIds: s.list(s.text, { max: 10_000 }) });

/** The claim's own part of a request: ranks, gate, cap, zones. */
function claimFields(shell: Shell, claim: ClaimPlan) {
  return { ...claim, contactZones: shell.storage.capabilities.contactZones ? claim.contactZones : null };
}

/** *Request Conversations*. */
export async function requestConversations(shell: Shell, input: unknown): Promise<RequestResult> {
  const i = RequestInput(input, "input");
  const key = i.idempotencyKey ?? null;
  return shell.retry("requestConversations", async () => {
    // A texter presses the button again and again: the context of their last request saves a read.
    // The claim checks what it decided on (the campaign's version, the sender row) in its atomic
    // step; a refusal is decided on a fresh read.
    const remembered = shell.recentContext(i.campaignId, i.texterId);
    const ctx = shell.ctx(i.texterId);
    let c = remembered ?? (await shell.context(i.campaignId, i.texterId));
    let decision = decideRequest(c.campaign, c, ctx.now);
    if (decision.kind === "refuse" && remembered !== undefined) {
      c = await shell.context(i.campaignId, i.texterId);
      decision = decideRequest(c.campaign, c, ctx.now);
    }
    shell.remember(i.campaignId, i.texterId, decision.kind === "claim" ? c : null);
    const request = {
      campaignId: i.campaignId,
      texterId: i.texterId,
      expectedVersion: c.campaign.version,
      join: null,
      idempotencyKey: key,
      now: ctx.now,
      context: shell.facts(ctx, c.campaign.orgId, i.campaignId),
      signal: i.signal,
    };
    if (decision.kind === "refuse") {
      const refusal = refused(decision.reason, c.campaign, ctx.now);
      if (key === null) return refusal;
      // A retry of a request that succeeded returns its result even when it would be refused now (S8):
      // a claim of nothing replays a used key and changes nothing otherwise.
      const replay = await shell.storage.claim({ ...request, ...NOTHING_TO_CLAIM });
      if (replay.kind === "conflict") return AGAIN;
      return replay.kind === "replayed" ? { ok: true, conversations: replay.conversations, replayed: true } : refusal;
    }
    const outcome: ClaimOutcome = await shell.storage.claim({ ...request, ...claimFields(shell, decision.claim) });
    if (outcome.kind === "conflict" || outcome.kind === "refused") shell.remember(i.campaignId, i.texterId, null);
    switch (outcome.kind) {
      case "conflict":
        return AGAIN;
      case "replayed":
        return { ok: true, conversations: outcome.conversations, replayed: true };
      case "refused":
        return { ok: false, reason: "not_a_sender" };
      case "blocked":
        return { ok: false, reason: outcome.reason === "cap_reached" ? "cap_reached" : "batch_unfinished" };
      case "claimed":
        return outcome.conversations.length === 0 ? { ok: false, reason: "nothing_available" } : { ok: true, conversations: outcome.conversations, replayed: false };
    }
  }, i.signal);
}

/** A refusal; outside texting hours it says when they open (T1). */
function refused<R extends string>(reason: R, campaign: Campaign, now: number): { ok: false; reason: R; opensAt?: number } {
  return reason === "outside_texting_hours" ? { ok: false, reason, opensAt: nextOpening(now, campaign.schedule) } : { ok: false, reason };
}

/** A claim of nothing (`limit: 0`): only an idempotency key's replay can come of it. */
const NOTHING_TO_CLAIM = { limit: 0, maxHeld: null, gate: { maxNotStarted: null, maxNeedsReply: null }, ranks: [], contactZones: null } as const;

/** Join a campaign with its invite link. */
export async function joinByInvite(shell: Shell, input: unknown): Promise<JoinResult> {
  const i = JoinInput(input, "input");
  const campaignId = i.token.length === 0 || i.token.length > s.MAX_STRING_LENGTH ? null : await shell.storage.findCampaignByToken(i.token);
  if (campaignId === null) return { ok: false, reason: "invalid_token" };
  return shell.retry("joinByInvite", async () => {
    const c = await shell.context(campaignId, i.userId);
    const ctx = shell.ctx(i.userId);
    const d = decideJoin(c.campaign, i.token, c, ctx.now);
    if (d.kind === "refuse") return refused(d.reason, c.campaign, ctx.now);
    const outcome = await shell.storage.claim({
      campaignId,
      texterId: i.userId,
      expectedVersion: c.campaign.version,
      join: "invite",
      ...claimFields(shell, d.claim),
      idempotencyKey: null,
      now: ctx.now,
      context: shell.facts(ctx, c.campaign.orgId, campaignId),
      signal: i.signal,
    });
    if (outcome.kind === "conflict" || outcome.kind === "replayed") return AGAIN;
    if (outcome.kind === "refused") return { ok: false, reason: "not_a_member" };
    const conversations = outcome.kind === "claimed" ? outcome.conversations : [];
    return {
      ok: true,
      campaignId,
      alreadySender: !outcome.joined,
      conversations,
      firstBatch: outcome.kind === "blocked" && outcome.reason === "holding" ? "already_holding" : conversations.length > 0 ? "assigned" : "nothing_available",
    };
  }, i.signal);
}

/** A texter's assignment view (S6), a page at a time. */
export async function listAssignments(shell: Shell, input: unknown): Promise<Page<Conversation>> {
  const i = ViewInput(input, "input");
  const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
  assertMayView(campaign, actor, i.texterId);
  const cursors = pager("listAssignments", [i.campaignId, i.texterId, i.filter]);
  const page = await shell.storage.listConversations({
    campaignId: i.campaignId,
    holder: i.texterId,
    statuses: i.filter === "actionable" ? "open" : "all",
    after: cursors.after(i.cursor),
    limit: i.limit,
  });
  const rows = i.filter === "actionable" ? page.rows.filter((c) => c.status === "needs_reply" || c.status === "not_started") : page.rows;
  // Actionable rows sort first (S6): once a page ends past them, nothing actionable is left.
  const done = i.filter === "actionable" && page.rows.length > rows.length;
  return { items: rows, cursor: done ? null : cursors.next(page.cursor) };
}

/** Hand conversations back (S9): all or nothing. */
export async function releaseConversations(shell: Shell, input: unknown): Promise<ReleaseResult> {
  const i = ReleaseInput(input, "input");
  const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
  const rule = decideRelease(campaign, actor);
  const ids = [...new Set(i.conversationIds)];
  const ctx = shell.ctx(i.actorId);
  const outcome = await shell.storage.updateConversations({
    campaignId: i.campaignId,
    changes: ids.map((conversationId) => ({ conversationId, heldBy: rule.heldBy, release: true })),
    atomic: true,
    releaseReason: rule.reason,
    now: ctx.now,
    context: shell.facts(ctx, campaign.orgId, i.campaignId),
  });
  const missing = ids.filter((_, n) => outcome.results[n]!.kind === "not_found");
  if (missing.length > 0) {
    throw new AssignmentError("CONVERSATION_NOT_FOUND", `No such conversation(s) in campaign "${i.campaignId}": ${s.listed(missing)}.`, {
      details: { campaignId: i.campaignId, conversationIds: missing },
    });
  }
  const notHeld = ids.filter((_, n) => outcome.results[n]!.kind !== "changed");
  if (notHeld.length > 0) {
    throw new AssignmentError(
      "NOT_HELD",
      `${rule.heldBy === null ? "Not assigned to anybody" : `Not held by "${i.actorId}"`}: ${s.listed(notHeld)}. Nothing was released.`,
      { details: { campaignId: i.campaignId, conversationIds: notHeld } },
    );
  }
  return { released: ids.length };
}

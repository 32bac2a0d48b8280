/**
 * Admin: the conversations overview (A1), Unassign All (A2), Reassign Some and All (A3–A5), and
 * stale release (T4).
 * @module
 */
import { reassign, unassignAll as planUnassignAll, type ReassignSource } from "../core/assignment.js";
import { assertCampaignManager } from "../core/campaign.js";
import { idleCutoff } from "../core/time.js";
import { AssignmentError } from "../errors.js";
import type { ConversationsOverview, ConversationStatus, Sender, SenderCounts, StatusFilter } from "../types.js";
import { countsOf } from "./reads.js";
import type { ReassignResult, StaleReleaseResult, UnassignResult } from "./results.js";
import * as s from "./schema.js";
import type { Shell } from "./shell.js";

const CampaignInput = s.object({ actorId: s.text, campaignId: s.text, signal: s.optional(s.signal) });
const source = s.either<ReassignSource, ReassignSource>(s.oneOf("unassigned"), s.object({ senderIds: s.list(s.text, { max: 10_000 }) }));
const reassignShape = {
  actorId: s.text,
  campaignId: s.text,
  from: source,
  filter: s.oneOf<StatusFilter>("any", "needs_reply", "not_started"),
  to: s.list(s.text, { max: 10_000 }),
  signal: s.optional(s.signal),
};
const SomeInput = s.object({ ...reassignShape, count: s.int(1, 100_000_000) });
const AllInput = s.object(reassignShape);
const StaleInput = s.object({ campaignId: s.text });

/** The conversations overview (A1): roster order, then former holders; opted-out conversations in the total only. */
export async function getOverview(shell: Shell, input: unknown): Promise<ConversationsOverview> {
  const i = CampaignInput(input, "input");
  const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
  assertCampaignManager(campaign, actor);
  const { byStatus, holders } = await countsOf(shell, i.campaignId);
  const counted = (c: Record<ConversationStatus, number> | undefined) =>
    c === undefined ? 0 : Object.entries(c).reduce((n, [status, k]) => (status === "opted_out" ? n : n + k), 0);
  const row = (userId: string): SenderCounts => {
    const c = holders.get(userId);
    return { userId, held: counted(c), notStarted: c?.not_started ?? 0, needsReply: c?.needs_reply ?? 0 };
  };
  const senders: SenderCounts[] = [];
  const listed = new Set<string>();
  for (let after: string | null = null; ; ) {
    const page = await shell.storage.readRoster({ roster: "senders", campaignId: i.campaignId, after, limit: 1000 });
    for (const sender of page.rows as readonly Sender[]) {
      listed.add(sender.userId);
      senders.push(row(sender.userId));
    }
    if (page.cursor === null) break;
    after = page.cursor;
  }
  for (const holder of holders.keys()) if (holder !== null && !listed.has(holder) && counted(holders.get(holder)) > 0) senders.push(row(holder));
  const un = holders.get(null);
  return {
    campaignId: i.campaignId,
    total: Object.values(byStatus).reduce((a, b) => a + b, 0),
    unassigned: counted(un),
    unassignedNotStarted: un?.not_started ?? 0,
    unassignedNeedsReply: un?.needs_reply ?? 0,
    byStatus,
    senders,
  };
}

/** Bulk Unassign All (A2). */
export async function unassignAll(shell: Shell, input: unknown): Promise<UnassignResult> {
  const i = CampaignInput(input, "input");
  const r = await shell.commitCampaign("unassignAll", i.campaignId, i.actorId, (c, actor) => planUnassignAll(c, actor), i.signal);
  return { unassigned: r.moved.flat().length };
}

async function move(shell: Shell, i: { actorId: string; campaignId: string; from: ReassignSource; filter: StatusFilter; to: string[]; signal?: AbortSignal }, count: number | null): Promise<ReassignResult> {
  const r = await shell.commitCampaign("reassign", i.campaignId, i.actorId, (c, actor) => reassign(c, actor, { from: i.from, filter: i.filter, count, to: i.to }), i.signal);
  return { moved: r.moved.flat().filter((m) => m.fromHolder !== m.conversation.assigneeId).length };
}

/** Reassign Some (A3). */
export async function reassignSome(shell: Shell, input: unknown): Promise<ReassignResult> {
  const i = SomeInput(input, "input");
  return move(shell, i, i.count);
}

/** Reassign All (A4). */
export async function reassignAll(shell: Shell, input: unknown): Promise<ReassignResult> {
  return move(shell, AllInput(input, "input"), null);
}

/** Release idle held conversations (T4). */
export async function releaseStale(shell: Shell, input: unknown): Promise<StaleReleaseResult> {
  const i = StaleInput(input, "input");
  const campaign = await shell.campaign(i.campaignId);
  const sa = campaign.selfAssignment;
  if (campaign.status === "archived" || (sa.releaseNotStartedAfterMs === null && sa.releaseNeedsReplyAfterMs === null)) return { released: 0, byTexter: [] };
  const releaseStale = shell.storage.releaseStale;
  if (!shell.storage.capabilities.staleRelease || releaseStale === undefined) {
    throw new AssignmentError("INVALID_STATE", "This storage does not support stale release (T4).", { details: { campaignId: i.campaignId } });
  }
  const ctx = shell.ctx(null);
  const cutoff = (ms: number | null) => (ms === null ? null : idleCutoff(ctx.now, ms, campaign.schedule));
  const released = await releaseStale({
    campaignId: i.campaignId,
    notStartedBefore: cutoff(sa.releaseNotStartedAfterMs),
    needsReplyBefore: cutoff(sa.releaseNeedsReplyAfterMs),
    now: ctx.now,
    context: shell.facts(ctx, campaign.orgId, i.campaignId),
  });
  const byTexter = new Map<string, string[]>();
  for (const c of released) {
    const list = byTexter.get(c.assigneeId!);
    if (list === undefined) byTexter.set(c.assigneeId!, [c.id]);
    else list.push(c.id);
  }
  return { released: released.length, byTexter: [...byTexter].map(([texterId, conversationIds]) => ({ texterId, conversationIds })) };
}

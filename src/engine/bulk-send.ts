/**
 * Bulk send (C6): leases of pending initial messages to host workers, their acknowledgements, the
 * progress, and a worker loop. Needs an adapter with the `bulkSend` capability.
 * @module
 */
import { bulkSendWait, contactZonesWait, type BulkSendWait } from "../core/campaign.js";
import { AssignmentError } from "../errors.js";
import type { Campaign, Conversation } from "../types.js";
import type { AcknowledgeResult, BulkSendProgress, BulkSendResult } from "./results.js";
import { countsOf } from "./reads.js";
import * as s from "./schema.js";
import { type Shell, abortIf } from "./shell.js";
import type { Storage } from "./wrap-storage.js";

const LeaseInput = s.object({
  campaignId: s.text,
  workerId: s.text,
  limit: s.withDefault(s.int(1, 10_000), 100),
  leaseMs: s.withDefault(s.int(1, 86_400_000), 60_000),
});
const AckInput = s.object({ campaignId: s.text, workerId: s.text, conversationIds: s.list(s.text, { min: 0, max: 10_000 }) });
const ProgressInput = s.object({ campaignId: s.text });
const BulkSendInput = s.object({
  campaignId: s.text,
  workerId: s.text,
  send: s.fn<(conversation: Conversation) => Promise<void>>(),
  batchSize: s.withDefault(s.int(1, 10_000), 100),
  leaseMs: s.withDefault(s.int(1, 86_400_000), 60_000),
  signal: s.optional(s.signal),
});

function bulkStorage(shell: Shell): Required<Pick<Storage, "leaseInitialSends" | "acknowledgeInitialSends">> {
  const { leaseInitialSends, acknowledgeInitialSends } = shell.storage;
  if (!shell.storage.capabilities.bulkSend || leaseInitialSends === undefined || acknowledgeInitialSends === undefined) {
    throw new AssignmentError("INVALID_STATE", "This storage does not support bulk send (C6).", { details: {} });
  }
  return { leaseInitialSends, acknowledgeInitialSends };
}

/** Lease a batch: the conversations, the campaign, and why nothing more may go now. */
async function lease(
  shell: Shell,
  i: { campaignId: string; workerId: string; limit: number; leaseMs: number },
): Promise<{ conversations: readonly Conversation[]; campaign: Campaign; waiting: BulkSendWait | null }> {
  const campaign = await shell.campaign(i.campaignId);
  if (campaign.status === "draft" || (campaign.bulkSend === null && campaign.status !== "active")) {
    throw new AssignmentError("INVALID_STATE", `Campaign "${i.campaignId}" is ${campaign.status}; only a bulk-sending campaign has initial messages to lease (C6).`, {
      details: { campaignId: i.campaignId, status: campaign.status },
    });
  }
  const now = shell.clock();
  const waiting = bulkSendWait(campaign, now);
  if (campaign.status !== "bulk_sending" || waiting !== null) return { conversations: [], campaign, waiting };
  const { schedule } = campaign;
  const outcome = await bulkStorage(shell).leaseInitialSends({
    campaignId: i.campaignId,
    workerId: i.workerId,
    limit: i.limit,
    leaseMs: i.leaseMs,
    now,
    contactZones: shell.storage.capabilities.contactZones ? { now, textingHoursStart: schedule.textingHoursStart, textingHoursEnd: schedule.textingHoursEnd } : null,
  });
  return { conversations: outcome.conversations, campaign, waiting: contactZonesWait(campaign, outcome.closedZones, now) };
}

/** Lease pending initial messages to a worker. */
export async function leaseInitialSends(shell: Shell, input: unknown): Promise<readonly Conversation[]> {
  return (await lease(shell, LeaseInput(input, "input"))).conversations;
}

/** Acknowledge initial messages a worker sent. */
export async function acknowledgeInitialSends(shell: Shell, input: unknown): Promise<AcknowledgeResult> {
  const i = AckInput(input, "input");
  const campaign = await shell.campaign(i.campaignId);
  const ctx = shell.ctx(null);
  const outcome = await bulkStorage(shell).acknowledgeInitialSends({
    campaignId: i.campaignId,
    workerId: i.workerId,
    conversationIds: i.conversationIds,
    now: ctx.now,
    context: shell.facts(ctx, campaign.orgId, i.campaignId),
  });
  return { sent: outcome.sent.length, rejected: outcome.rejected, pending: outcome.pending, finished: outcome.finished };
}

/** Bulk-send progress. */
export async function getBulkSendProgress(shell: Shell, input: unknown): Promise<BulkSendProgress> {
  const i = ProgressInput(input, "input");
  const campaign = await shell.campaign(i.campaignId);
  const byStatus = (await countsOf(shell, i.campaignId)).byStatus;
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0) - byStatus.opted_out;
  const pending = byStatus.not_started;
  return { total, pending, sent: total - pending, status: campaign.status, waiting: bulkSendWait(campaign, shell.clock()) };
}

/** Drain a bulk send as one worker. */
export async function bulkSend(shell: Shell, input: unknown): Promise<BulkSendResult> {
  const i = BulkSendInput(input, "input");
  const request = { campaignId: i.campaignId, workerId: i.workerId, limit: i.batchSize, leaseMs: i.leaseMs };
  bulkStorage(shell);
  let sent = 0;
  for (let round = 0; ; round++) {
    // Aborted before anything was leased: nothing changed. Later: say what was sent.
    if (round === 0) abortIf(i.signal);
    else if (i.signal?.aborted === true) return { sent, aborted: true, finished: false, waiting: null };
    const { conversations: leased, campaign, waiting } = await lease(shell, request);
    if (leased.length === 0) {
      const finished = campaign.status === "active" || (campaign.bulkSend !== null && campaign.bulkSend.finishedAt !== null);
      return { sent, aborted: false, finished, waiting: finished ? null : waiting };
    }
    const done: string[] = [];
    let failure: unknown = undefined;
    for (const c of leased) {
      if (i.signal?.aborted === true) break; // unsent leases expire and go to another worker
      try {
        await i.send(c);
        done.push(c.id);
      } catch (error) {
        failure = error;
        break;
      }
    }
    const ack = await acknowledgeInitialSends(shell, { campaignId: i.campaignId, workerId: i.workerId, conversationIds: done });
    sent += ack.sent;
    // A send that failed because the signal aborted it (a fetch given the signal) is the abort, not a fault.
    if (failure !== undefined && i.signal?.aborted !== true) throw failure;
    if (ack.finished) return { sent, aborted: false, finished: true, waiting: null };
  }
}

/**
 * Messaging events the host reports (M1–M3) and opt-outs (O3): one at a time (errors for events
 * that do not apply), or many per call in one atomic step with late and duplicate events answered
 * as results.
 * @module
 */
import { canManage, decideReply, type MessagingEvent, TRANSITIONS } from "../core/policy.js";
import { assertManager } from "../core/organization.js";
import { AssignmentError } from "../errors.js";
import type { ConversationChange } from "../storage/pool.js";
import { parseConversationId } from "../storage/rules.js";
import type { Conversation } from "../types.js";
import type { MessageOutcome, OptOutResult } from "./results.js";
import * as s from "./schema.js";
import type { Shell } from "./shell.js";

const OneInput = s.object({ conversationId: s.text });
const ReplyInput = s.object({ conversationId: s.text, text: s.optional(s.wellFormed), autoOptOut: s.withDefault(s.bool, false) });
const CloseInput = s.object({ conversationId: s.text, actorId: s.optional(s.text) });
const OptOutInput = s.object({ orgId: s.text, contactId: s.text });
const kind = s.oneOf<MessagingEvent>("initial_sent", "contact_replied", "texter_replied", "closed");
const MessagesInput = s.object({
  campaignId: s.text,
  actorId: s.optional(s.text),
  messages: s.list(s.object({ conversationId: s.text, event: kind, text: s.optional(s.wellFormed), autoOptOut: s.withDefault(s.bool, false) }), { max: 10_000 }),
});

/** Opt a contact out organization-wide (O3). */
export async function optOut(shell: Shell, input: unknown): Promise<OptOutResult> {
  const i = OptOutInput(input, "input");
  await shell.organization(i.orgId);
  const ctx = shell.ctx(null);
  const { changed } = await shell.storage.optOut({ orgId: i.orgId, contactId: i.contactId, now: ctx.now, context: shell.facts(ctx, i.orgId, null) });
  return { conversations: changed.length };
}

/**
 * Record messaging events of one campaign. With `actorId` (a texter acting) each event applies only to
 * conversations that texter holds — owners and admins act on any. Events that do not apply (a reply
 * after an opt-out, a duplicate webhook) come back as `ignored`; nothing about them changes.
 */
export async function recordMessages(shell: Shell, input: unknown): Promise<readonly MessageOutcome[]> {
  const i = MessagesInput(input, "input");
  const campaign = await shell.campaign(i.campaignId);
  let heldBy: string | undefined = undefined;
  if (i.actorId !== undefined) {
    const actor = await shell.actor(campaign.orgId, i.actorId);
    if (actor.role === null) assertManager(actor, { campaignId: campaign.id });
    if (!canManage(actor.role)) heldBy = i.actorId;
  }
  // M3 needs the status before a contact's reply: read those conversations once.
  const replies = i.messages.filter((m) => m.event === "contact_replied" && m.autoOptOut && m.text !== undefined).map((m) => m.conversationId);
  const current = new Map<string, Conversation>();
  if (replies.length > 0) {
    const page = await shell.storage.listConversations({ campaignId: i.campaignId, statuses: "all", ids: [...new Set(replies)], limit: replies.length });
    for (const c of page.rows) current.set(c.id, c);
  }
  const optOuts = new Map<number, Conversation>();
  const changes: { index: number; change: ConversationChange }[] = [];
  i.messages.forEach((m, index) => {
    const before = current.get(m.conversationId);
    if (m.event === "contact_replied" && before !== undefined && (heldBy === undefined || before.assigneeId === heldBy) && decideReply(before, m.text, m.autoOptOut) === "opt_out") {
      optOuts.set(index, before);
      return;
    }
    const rule = TRANSITIONS[m.event];
    changes.push({ index, change: { conversationId: m.conversationId, ...(heldBy === undefined ? {} : { heldBy }), status: { from: rule.from, to: rule.to } } });
  });
  const ctx = shell.ctx(i.actorId ?? null);
  const outcome = await shell.storage.updateConversations({
    campaignId: i.campaignId,
    changes: changes.map((c) => c.change),
    atomic: false,
    releaseReason: "admin_release",
    now: ctx.now,
    context: shell.facts(ctx, campaign.orgId, i.campaignId),
  });
  const results: MessageOutcome[] = new Array(i.messages.length);
  changes.forEach(({ index }, n) => {
    const r = outcome.results[n]!;
    const conversationId = i.messages[index]!.conversationId;
    results[index] =
      r.kind === "changed"
        ? { result: "recorded", conversation: r.after }
        : r.kind === "invalid"
          ? { result: "ignored", conversation: r.current, status: r.current.status }
          : r.kind === "not_held"
            ? { result: "not_held", conversationId }
            : { result: "not_found", conversationId };
  });
  for (const [index, before] of optOuts) {
    await shell.storage.optOut({ orgId: campaign.orgId, contactId: before.contactId, now: ctx.now, context: shell.facts(shell.ctx(null), campaign.orgId, null) });
    results[index] = { result: "opted_out", conversation: await shell.conversation(before.id) };
  }
  return results;
}

/** One event, for the single-event methods: its outcome, or the error the old API throws. */
async function one(shell: Shell, conversationId: string, event: MessagingEvent, extra: { actorId?: string; text?: string; autoOptOut?: boolean } = {}): Promise<Conversation> {
  const key = parseConversationId(conversationId);
  if (key === null) throw new AssignmentError("CONVERSATION_NOT_FOUND", `No conversation "${conversationId}".`, { details: { conversationId } });
  const campaign = await shell.storage.getCampaign(key.campaignId);
  if (campaign === null) throw new AssignmentError("CONVERSATION_NOT_FOUND", `No conversation "${conversationId}".`, { details: { conversationId } });
  const { text, autoOptOut, actorId } = extra;
  const [outcome] = await recordMessages(shell, {
    campaignId: key.campaignId,
    ...(actorId === undefined ? {} : { actorId }),
    messages: [{ conversationId, event, ...(text === undefined ? {} : { text }), ...(autoOptOut === undefined ? {} : { autoOptOut }) }],
  });
  switch (outcome!.result) {
    case "recorded":
    case "opted_out":
      return outcome!.conversation;
    case "ignored":
      throw new AssignmentError(
        "INVALID_TRANSITION",
        `Conversation "${conversationId}" is ${outcome!.status}; "${event}" applies only to ${TRANSITIONS[event].from.join(", ")} (M1).`,
        { details: { conversationId, status: outcome!.status, event } },
      );
    case "not_held":
      throw new AssignmentError("NOT_AUTHORIZED", `User "${actorId}" does not hold conversation "${conversationId}" and is not an owner or admin (A6).`, {
        details: { conversationId, userId: actorId },
      });
    case "not_found":
      throw new AssignmentError("CONVERSATION_NOT_FOUND", `No conversation "${conversationId}".`, { details: { conversationId } });
  }
}

/** The host sent the initial message. */
export async function recordInitialSent(shell: Shell, input: unknown): Promise<Conversation> {
  return one(shell, OneInput(input, "input").conversationId, "initial_sent");
}

/** The contact replied (M3 with `autoOptOut`). */
export async function recordContactReply(shell: Shell, input: unknown): Promise<Conversation> {
  const i = ReplyInput(input, "input");
  return one(shell, i.conversationId, "contact_replied", { ...(i.text === undefined ? {} : { text: i.text }), autoOptOut: i.autoOptOut });
}

/** The texter answered. */
export async function recordTexterReply(shell: Shell, input: unknown): Promise<Conversation> {
  return one(shell, OneInput(input, "input").conversationId, "texter_replied");
}

/** Close a conversation; with `actorId`, only its holder or an owner/admin may. */
export async function closeConversation(shell: Shell, input: unknown): Promise<Conversation> {
  const i = CloseInput(input, "input");
  return one(shell, i.conversationId, "closed", i.actorId === undefined ? {} : { actorId: i.actorId });
}

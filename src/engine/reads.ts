/**
 * Reads: one conversation, a campaign's conversations by contact or for its admins, and the counts
 * the overview and the bulk-send progress are built from.
 * @module
 */
import { assertCampaignManager } from "../core/campaign.js";
import type { Conversation, ConversationStatus } from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import type { Page } from "./results.js";
import { pager } from "./cursors.js";
import * as s from "./schema.js";
import type { Shell } from "./shell.js";

const status = s.oneOf<ConversationStatus>(...(CONVERSATION_STATUSES as ConversationStatus[]));
const ListInput = s.object({
  actorId: s.text,
  campaignId: s.text,
  status: s.optional(status),
  assigneeId: s.nullable(s.text),
  contactId: s.optional(s.text),
  cursor: s.nullable(s.text),
  limit: s.withDefault(s.int(1, 1000), 100),
});
const FindInput = s.object({ campaignId: s.text, contactId: s.text });

/** One conversation. */
export async function getConversation(shell: Shell, conversationId: unknown): Promise<Conversation> {
  return shell.conversation(s.text(conversationId, "conversationId"));
}

/** The conversation of a contact in a campaign, or `null` (C2: at most one). */
export async function findConversation(shell: Shell, input: unknown): Promise<Conversation | null> {
  const i = FindInput(input, "input");
  await shell.campaign(i.campaignId);
  const page = await shell.storage.listConversations({ campaignId: i.campaignId, statuses: "all", contactIds: [i.contactId], limit: 1 });
  return page.rows[0] ?? null;
}

/** An admin's listing of a campaign's conversations, filtered, in hand-out order, a page at a time. */
export async function listConversations(shell: Shell, input: unknown): Promise<Page<Conversation>> {
  const i = ListInput(input, "input");
  const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
  assertCampaignManager(campaign, actor);
  const cursors = pager("listConversations", [i.campaignId, i.status ?? null, i.assigneeId === undefined ? [] : i.assigneeId, i.contactId ?? null]);
  const page = await shell.storage.listConversations({
    campaignId: i.campaignId,
    ...(i.assigneeId === undefined ? {} : { holder: i.assigneeId }),
    statuses: "all",
    ...(i.status === undefined ? {} : { status: i.status }),
    ...(i.contactId === undefined ? {} : { contactIds: [i.contactId] }),
    after: cursors.after(i.cursor),
    limit: i.limit,
  });
  return { items: page.rows, cursor: cursors.next(page.cursor) };
}

/** A campaign's conversation counts, by status overall and by holder (A1 is applied by the caller). */
export async function countsOf(
  shell: Shell,
  campaignId: string,
): Promise<{ byStatus: Record<ConversationStatus, number>; holders: Map<string | null, Record<ConversationStatus, number>> }> {
  const empty = () => Object.fromEntries(CONVERSATION_STATUSES.map((st) => [st, 0])) as Record<ConversationStatus, number>;
  const byStatus = empty();
  const holders = new Map<string | null, Record<ConversationStatus, number>>();
  for (const row of (await shell.storage.countConversations(campaignId)).rows) {
    byStatus[row.status] += row.count;
    let h = holders.get(row.holder);
    if (h === undefined) holders.set(row.holder, (h = empty()));
    h[row.status] += row.count;
  }
  return { byStatus, holders };
}

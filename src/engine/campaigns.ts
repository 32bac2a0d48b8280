/**
 * Campaigns: creation, settings, import, senders, launch, lifecycle and the invite link (C1–C7,
 * S1, L1, L4). Senders are rows: adding one never rewrites the campaign.
 * @module
 */
import { addSenders as planAddSenders, removeSender as planRemoveSender } from "../core/assignment.js";
import * as core from "../core/campaign.js";
import { assertManager } from "../core/organization.js";
import { AssignmentError } from "../errors.js";
import type { Campaign, GatePolicy, Sender } from "../types.js";
import type { AddSendersResult, ImportResult, InviteLinkResult, LaunchResult, Page, RemoveSenderResult, SenderPage } from "./results.js";
import { pager } from "./cursors.js";
import * as s from "./schema.js";
import { AGAIN, type Shell } from "./shell.js";
import { MAX_IDLE_MS } from "../core/time.js";

const base = { actorId: s.text, campaignId: s.text, signal: s.optional(s.signal) };
const CreateInput = s.object({ actorId: s.text, orgId: s.text, title: s.text, id: s.optional(s.text) });
const idleMs = s.nullable(s.int(60_000, MAX_IDLE_MS));
const epoch = s.nullable(s.int(0, 8.64e15));
/** The settings schema: typed over every setting (`SETTING_PLACES` holds the same keys), so none is left out. */
const settings: { readonly [K in keyof core.CampaignSettingsPatch]-?: s.Parser<core.CampaignSettingsPatch[K]> } = {
  title: s.optional(s.text),
  enabled: s.optional(s.bool),
  batchSize: s.optional(s.batchSize),
  gate: s.optional(s.oneOf<GatePolicy>("no-pending-initials", "no-pending-work", "none")),
  maxHeldPerTexter: s.nullable(s.int(1, 1_000_000_000)),
  allowSelfRelease: s.optional(s.bool),
  releaseNotStartedAfterMs: idleMs,
  releaseNeedsReplyAfterMs: idleMs,
  timeZone: s.optional(s.timeZone),
  textingHoursStart: s.optional(s.clock),
  textingHoursEnd: s.optional(s.clock),
  startsAt: epoch,
  endsAt: epoch,
};
const SettingsInput = s.object({ ...base, ...settings });
const contact = s.object({ contactId: s.text, timeZone: s.nullable(s.timeZone) });
const ImportInput = s.object({ ...base, contacts: s.list(contact, { max: 1_000_000 }), returnIds: s.withDefault(s.bool, false) });
const SendersInput = s.object({ ...base, userIds: s.list(s.text, { max: 100_000 }) });
const RemoveSenderInput = s.object({ ...base, userId: s.text, reassignTo: s.withDefault(s.list(s.text, { min: 0, max: 10_000 }), []) });
const LaunchInput = s.object({ ...base, bulkSend: s.withDefault(s.bool, false) });
const CampaignInput = s.object(base);
const ListInput = s.object({ actorId: s.text, campaignId: s.text, cursor: s.nullable(s.text), limit: s.withDefault(s.int(1, 1000), 100) });
const ListCampaignsInput = s.object({ actorId: s.text, orgId: s.text, cursor: s.nullable(s.text), limit: s.withDefault(s.int(1, 1000), 100) });

/** Create a draft campaign. */
export async function createCampaign(shell: Shell, input: unknown): Promise<Campaign> {
  const i = CreateInput(input, "input");
  const org = await shell.organization(i.orgId);
  const ctx = shell.ctx(i.actorId);
  const id = i.id ?? shell.generateId("campaign");
  const plan = core.createCampaign(org, await shell.actor(i.orgId, i.actorId), { id, title: i.title }, ctx);
  const outcome = await shell.storage.commitCampaign({
    campaignId: id,
    expectedVersion: null,
    ...plan,
    now: ctx.now,
    context: shell.facts(ctx, org.id, id),
  });
  if (outcome.kind !== "committed") throw new AssignmentError("ALREADY_EXISTS", `Campaign "${id}" already exists.`, { details: { campaignId: id } });
  return plan.next;
}

/** The campaign. */
export async function getCampaign(shell: Shell, campaignId: unknown): Promise<Campaign> {
  return shell.campaign(s.text(campaignId, "campaignId"));
}

/** Change settings. */
export async function updateCampaignSettings(shell: Shell, input: unknown): Promise<Campaign> {
  const { actorId, campaignId, signal, ...patch } = SettingsInput(input, "input");
  const r = await shell.commitCampaign("updateCampaignSettings", campaignId, actorId, (c, actor, ctx, org) => core.updateSettings(c, actor, patch, org.defaultBatchSize, ctx), signal);
  return r.campaign;
}

/** Import contacts (C2). */
export async function importContacts(shell: Shell, input: unknown): Promise<ImportResult> {
  const i = ImportInput(input, "input");
  if (!shell.storage.capabilities.contactZones && i.contacts.some((c) => typeof c.timeZone === "string")) {
    throw new AssignmentError("INVALID_STATE", "This storage does not support contact time zones (T2); import without timeZone or use an adapter with the contactZones capability.", {
      details: { campaignId: i.campaignId },
    });
  }
  return shell.retry("importContacts", async () => {
    const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
    core.assertImportable(campaign, actor);
    const ctx = shell.ctx(i.actorId);
    const outcome = await shell.storage.importConversations({
      campaignId: i.campaignId,
      expectedVersion: campaign.version,
      contacts: i.contacts,
      returnIds: i.returnIds,
      context: shell.facts(ctx, campaign.orgId, i.campaignId),
    });
    if (outcome.kind === "conflict") return AGAIN;
    return { created: outcome.created, skipped: outcome.skipped, ...(i.returnIds ? { ids: outcome.ids } : {}) };
  }, i.signal);
}

/** Add senders (members only). */
export async function addSenders(shell: Shell, input: unknown): Promise<AddSendersResult> {
  const i = SendersInput(input, "input");
  const r = await shell.commitCampaign("addSenders", i.campaignId, i.actorId, (c, actor) => planAddSenders(c, actor, i.userIds), i.signal);
  return { campaign: r.campaign, added: r.added };
}

/** Remove a sender; their conversations go back to the pool or to other senders. */
export async function removeSender(shell: Shell, input: unknown): Promise<RemoveSenderResult> {
  const i = RemoveSenderInput(input, "input");
  const r = await shell.commitCampaign("removeSender", i.campaignId, i.actorId, (c, actor, ctx) => planRemoveSender(c, actor, { userId: i.userId, reassignTo: i.reassignTo }, ctx), i.signal);
  const moved = r.moved.flat();
  const reassigned = moved.filter((m) => m.conversation.assigneeId !== null).length;
  return { campaign: r.campaign, reassigned, unassigned: moved.length - reassigned };
}

/** Launch a draft (C1, C4), optionally with a bulk send (C6). */
export async function launchCampaign(shell: Shell, input: unknown): Promise<LaunchResult> {
  const i = LaunchInput(input, "input");
  if (i.bulkSend && !shell.storage.capabilities.bulkSend) {
    throw new AssignmentError("INVALID_STATE", "This storage does not support bulk send (C6): launch without bulkSend, or use an adapter with the bulkSend capability.", {
      details: { campaignId: i.campaignId },
    });
  }
  const r = await shell.commitCampaign("launchCampaign", i.campaignId, i.actorId, (c, actor, ctx) => core.launch(c, actor, i.bulkSend, ctx), i.signal);
  return { campaign: r.campaign, assigned: r.moved.flat().length };
}

/** Pause, resume or archive (C1). */
export async function changeStatus(shell: Shell, input: unknown, kind: "pause" | "resume" | "archive"): Promise<Campaign> {
  const i = CampaignInput(input, "input");
  return (await shell.commitCampaign(`${kind}Campaign`, i.campaignId, i.actorId, (c, actor, ctx) => core.changeStatus(c, actor, kind, ctx), i.signal)).campaign;
}

/** Enable the invite link (L1) and return its token. */
export async function enableInviteLink(shell: Shell, input: unknown): Promise<InviteLinkResult> {
  const i = CampaignInput(input, "input");
  const token = shell.generateToken();
  const { campaign } = await shell.commitCampaign("enableInviteLink", i.campaignId, i.actorId, (c, actor, ctx) => core.enableInviteLink(c, actor, token, ctx), i.signal);
  return { token: campaign.invite.token!, campaign };
}

/** Disable the invite link, revoking its token (L4). */
export async function disableInviteLink(shell: Shell, input: unknown): Promise<Campaign> {
  const i = CampaignInput(input, "input");
  return (await shell.commitCampaign("disableInviteLink", i.campaignId, i.actorId, (c, actor, ctx) => core.disableInviteLink(c, actor, ctx), i.signal)).campaign;
}

/** Senders in the order they were added, a page at a time (owners and admins). */
export async function listSenders(shell: Shell, input: unknown): Promise<SenderPage> {
  const i = ListInput(input, "input");
  const { campaign, actor } = await shell.campaignActor(i.campaignId, i.actorId);
  assertManager(actor, { campaignId: campaign.id });
  const cursors = pager("listSenders", [i.campaignId]);
  const page = await shell.storage.readRoster({ roster: "senders", campaignId: i.campaignId, after: cursors.after(i.cursor), limit: i.limit });
  return { items: page.rows as readonly Sender[], cursor: cursors.next(page.cursor) };
}

/**
 * An organization's campaigns in the order they were created, a page at a time: owners and admins see
 * every one, a texter the ones they are a sender on (a page may then hold fewer than `limit`).
 */
export async function listCampaigns(shell: Shell, input: unknown): Promise<Page<Campaign>> {
  const i = ListCampaignsInput(input, "input");
  const list = shell.storage.listCampaigns;
  if (!shell.storage.capabilities.campaignListing || list === undefined) {
    throw new AssignmentError("INVALID_STATE", "This storage does not support listing campaigns (the campaignListing capability).", { details: { orgId: i.orgId } });
  }
  await shell.organization(i.orgId);
  const actor = await shell.actor(i.orgId, i.actorId);
  if (actor.role === null) assertManager(actor, { orgId: i.orgId });
  const cursors = pager("listCampaigns", [i.orgId]);
  const page = await list({ orgId: i.orgId, after: cursors.after(i.cursor), limit: i.limit });
  const cursor = cursors.next(page.cursor);
  if (actor.role !== "texter") return { items: page.rows, cursor };
  const mine: Campaign[] = [];
  for (const c of page.rows) {
    // A texter sees the campaigns they send on, without the invite link's tokens (an admin's to share).
    if ((await shell.storage.readRoster({ roster: "senders", campaignId: c.id, userIds: [i.actorId], limit: 1 })).rows.length > 0) {
      mine.push({ ...c, invite: { enabled: c.invite.enabled, token: null, revokedTokens: [] } });
    }
  }
  return { items: mine, cursor };
}

/**
 * The engine: the one place that lists every public operation, each delegating to its area's module,
 * which validates the input, loads what the core needs, checks the actor, asks the core and commits.
 * @module
 */
import type { Campaign, Conversation, ConversationsOverview, Member, Organization, SelfAssignEvent } from "../types.js";
import * as admin from "./admin.js";
import * as bulk from "./bulk-send.js";
import * as campaigns from "./campaigns.js";
import * as events from "./events.js";
import * as messaging from "./messaging.js";
import * as orgs from "./organizations.js";
import * as reads from "./reads.js";
import type * as r from "./results.js";
import * as self from "./self-assignment.js";
import { traced } from "./observe.js";
import { type EngineOptions, Shell } from "./shell.js";
import { type StaleReleaseJob, type StaleReleaseJobOptions, startJob } from "./stale-release-job.js";

/** The input of operation `K` (what the method takes). */
type In<K extends keyof Engine> = Engine[K] extends (input: infer I) => unknown ? I : never;
type Actor = r.ActorInput;
type OnCampaign = r.CampaignInput;
type Settings = import("../core/campaign.js").CampaignSettingsPatch;
type Source = import("../core/assignment.js").ReassignSource;
type Filter = import("../types.js").StatusFilter;
type Role = import("../types.js").Role;
type ListPage = r.PageInput;

/** Self assignment over one storage; safe to call concurrently from any number of callers and processes. Create it with `createEngine`. */
export class Engine {
  readonly #shell: Shell;

  /** Use `createEngine` (from `selfassign`), which picks the in-memory storage when none is given. */
  constructor(options: EngineOptions) {
    this.#shell = new Shell(options);
  }

  /** Run an operation's module function, traced on `selfassign:<name>` (diagnostics_channel) when anybody listens. */
  #op<I, R>(name: string, input: I, run: (shell: Shell, input: I) => Promise<R>): Promise<R> {
    return traced(name, input, () => run(this.#shell, input));
  }
  // --- organizations (O1, O2, A6)
  /** Create an organization; `ownerId` becomes its first owner (O1). Default batch size 300 (O2). */
  createOrganization(input: { name: string; ownerId: string; id?: string }): Promise<Organization> {
    return this.#op("createOrganization", input, orgs.createOrganization);
  }
  /** The organization. Throws `ORGANIZATION_NOT_FOUND`. */
  getOrganization(orgId: string): Promise<Organization> {
    return this.#op("getOrganization", orgId, orgs.getOrganization);
  }
  /** Add a member (O1); `ALREADY_EXISTS` when they are one. Owners and admins may add; only owners add owners. */
  addMember(input: Actor & { orgId: string; userId: string; role: Role }): Promise<Member> {
    return this.#op("addMember", input, orgs.addMember);
  }
  /** Add up to 100,000 members in one call; members already there are reported in `existing`, unchanged. */
  addMembers(input: Actor & { orgId: string; members: readonly { userId: string; role: Role }[]; signal?: AbortSignal }): Promise<r.AddMembersResult> {
    return this.#op("addMembers", input, orgs.addMembers);
  }
  /** Change a member's role (owners only for the owner role). The last owner cannot be demoted. */
  setMemberRole(input: In<"addMember">): Promise<Member> {
    return this.#op("setMemberRole", input, orgs.setMemberRole);
  }
  /** Remove a member; `INVALID_STATE` while they are a sender on a campaign that is not archived (remove them there first, C3). */
  removeMember(input: Actor & { orgId: string; userId: string }): Promise<Member> {
    return this.#op("removeMember", input, orgs.removeMember);
  }
  /** Set the organization's default batch size, 1..5000 (O2). Existing campaigns keep theirs. */
  setDefaultBatchSize(input: Actor & { orgId: string; batchSize: number }): Promise<Organization> {
    return this.#op("setDefaultBatchSize", input, orgs.setDefaultBatchSize);
  }
  /** One member, or `null`: owners and admins may look anybody up, a member themselves. */
  getMember(input: In<"removeMember">): Promise<Member | null> {
    return this.#op("getMember", input, orgs.getMember);
  }
  /** Members in the order they were added, a page at a time (owners and admins). */
  listMembers(input: Actor & { orgId: string } & ListPage): Promise<r.MemberPage> {
    return this.#op("listMembers", input, orgs.listMembers);
  }
  // --- campaigns (C1–C7, S1, L1, L4)
  /** Create a draft campaign (C1); self assignment off (S1). */
  createCampaign(input: Actor & { orgId: string; title: string; id?: string }): Promise<Campaign> {
    return this.#op("createCampaign", input, campaigns.createCampaign);
  }
  /** The campaign. Throws `CAMPAIGN_NOT_FOUND`. */
  getCampaign(campaignId: string): Promise<Campaign> {
    return this.#op("getCampaign", campaignId, campaigns.getCampaign);
  }
  /** Change settings (S1, S5, S7, S9, T1, T3, T4, title); enabling self assignment first takes the organization's default batch size (O2). */
  updateCampaignSettings(input: OnCampaign & Settings): Promise<Campaign> {
    return this.#op("updateCampaignSettings", input, campaigns.updateCampaignSettings);
  }
  /** Import contacts (C2): one conversation per contact, repeats skipped, opted-out ones arrive `opted_out` (O3); `returnIds` gives every id. */
  importContacts(input: OnCampaign & { contacts: readonly import("../types.js").ContactInput[]; returnIds?: boolean }): Promise<r.ImportResult> {
    return this.#op("importContacts", input, campaigns.importContacts);
  }
  /** Add senders (C3, up to 100,000 per call): organization members only. Nothing is assigned to them (C5). */
  addSenders(input: OnCampaign & { userIds: readonly string[] }): Promise<r.AddSendersResult> {
    return this.#op("addSenders", input, campaigns.addSenders);
  }
  /** Remove a sender (C3): their open conversations go back to the pool, or round-robin to `reassignTo` (A5). */
  removeSender(input: OnCampaign & { userId: string; reassignTo?: readonly string[] }): Promise<r.RemoveSenderResult> {
    return this.#op("removeSender", input, campaigns.removeSender);
  }
  /** Launch a draft (C1, C4): the pool is split among the senders; with `bulkSend` it becomes `bulk_sending` and nothing is split (C6). */
  launchCampaign(input: OnCampaign & { bulkSend?: boolean }): Promise<r.LaunchResult> {
    return this.#op("launchCampaign", input, campaigns.launchCampaign);
  }
  /** Pause an active or bulk-sending campaign (C1, C6): requests, joins and the bulk send stop until it is resumed (C7). */
  pauseCampaign(input: OnCampaign): Promise<Campaign> {
    return this.#op("pauseCampaign", input, (shell, i) => campaigns.changeStatus(shell, i, "pause"));
  }
  /** Resume a paused campaign (C1); a bulk send with messages pending goes on. */
  resumeCampaign(input: OnCampaign): Promise<Campaign> {
    return this.#op("resumeCampaign", input, (shell, i) => campaigns.changeStatus(shell, i, "resume"));
  }
  /** Archive a campaign (C1): final; it can still be read (C7). */
  archiveCampaign(input: OnCampaign): Promise<Campaign> {
    return this.#op("archiveCampaign", input, (shell, i) => campaigns.changeStatus(shell, i, "archive"));
  }
  /** Enable the sender invite link (L1) and return its token (the current one when already enabled). Needs self assignment on. */
  enableInviteLink(input: OnCampaign): Promise<r.InviteLinkResult> {
    return this.#op("enableInviteLink", input, campaigns.enableInviteLink);
  }
  /** Disable the invite link: its token is revoked for good (L4). */
  disableInviteLink(input: OnCampaign): Promise<Campaign> {
    return this.#op("disableInviteLink", input, campaigns.disableInviteLink);
  }
  /** An organization's campaigns, oldest first, a page at a time: owners and admins all, a texter those they send on. */
  listCampaigns(input: Actor & { orgId: string } & ListPage): Promise<r.Page<Campaign>> {
    return this.#op("listCampaigns", input, campaigns.listCampaigns);
  }
  /** Senders in the order they were added, a page at a time (owners and admins). */
  listSenders(input: Actor & { campaignId: string } & ListPage): Promise<r.SenderPage> {
    return this.#op("listSenders", input, campaigns.listSenders);
  }
  // --- self assignment (S2–S9, L2, L3)
  /** *Request Conversations* (S2–S8): `min(batch, assignable, cap left)`, best first (S4), or a refusal in S2 order; a retried `idempotencyKey` replays (S8). */
  requestConversations(input: { campaignId: string; texterId: string; idempotencyKey?: string; signal?: AbortSignal }): Promise<r.RequestResult> {
    return this.#op("requestConversations", input, self.requestConversations);
  }
  /** Join with an invite link (L2, L3): the member becomes a sender and, holding nothing, gets a first batch; a wrong token reveals nothing. */
  joinByInvite(input: { token: string; userId: string; signal?: AbortSignal }): Promise<r.JoinResult> {
    return this.#op("joinByInvite", input, self.joinByInvite);
  }
  /** A texter's view (S6): needs reply (oldest first), then not started, then the rest; `actionable` hides the rest. */
  async getAssignments(input: Actor & { campaignId: string; texterId: string; filter?: r.AssignmentViewFilter; limit?: number }): Promise<readonly Conversation[]> {
    return (await this.#op("getAssignments", input, self.listAssignments)).items;
  }
  /** {@link Engine.getAssignments} a page at a time: pass the returned `cursor` for the next page. */
  listAssignments(input: In<"getAssignments"> & { cursor?: string | null }): Promise<r.Page<Conversation>> {
    return this.#op("listAssignments", input, self.listAssignments);
  }
  /** Hand conversations back (S9): texters their own when the campaign allows it; owners and admins anybody's. All or nothing. */
  releaseConversations(input: Actor & { campaignId: string; conversationIds: readonly string[] }): Promise<r.ReleaseResult> {
    return this.#op("releaseConversations", input, self.releaseConversations);
  }
  // --- bulk send (C6)
  /** Lease up to `limit` pending initial messages to a worker for `leaseMs`, obeying T1–T3; `[]` when none may go now. */
  leaseInitialSends(input: { campaignId: string; workerId: string; limit?: number; leaseMs?: number }): Promise<readonly Conversation[]> {
    return this.#op("leaseInitialSends", input, bulk.leaseInitialSends);
  }
  /** Acknowledge sent initial messages; when nothing is pending any more the campaign becomes active in the same step. */
  acknowledgeInitialSends(input: { campaignId: string; workerId: string; conversationIds: readonly string[] }): Promise<r.AcknowledgeResult> {
    return this.#op("acknowledgeInitialSends", input, bulk.acknowledgeInitialSends);
  }
  /** Bulk-send progress: totals, and why it cannot go on now (`waiting`). */
  getBulkSendProgress(input: { campaignId: string }): Promise<r.BulkSendProgress> {
    return this.#op("getBulkSendProgress", input, bulk.getBulkSendProgress);
  }
  /**
   * Drain a bulk send as one worker (lease, `send`, acknowledge, repeat); returns finished, or `waiting` on a pause or the time rules, or `aborted` when
   * `signal` stopped it midway. A `send` that fails (not because `signal` aborted) stops the worker: what it sent is acknowledged, and the error is thrown as it is.
   */
  bulkSend(input: { campaignId: string; workerId: string; send: (c: Conversation) => Promise<void>; batchSize?: number; leaseMs?: number; signal?: AbortSignal }): Promise<r.BulkSendResult> {
    return this.#op("bulkSend", input, bulk.bulkSend);
  }
  // --- admin (A1–A5, T4)
  /** The conversations overview (A1): totals and per sender; opted-out conversations in the total only. */
  getOverview(input: OnCampaign): Promise<ConversationsOverview> {
    return this.#op("getOverview", input, admin.getOverview);
  }
  /** Bulk Unassign All (A2). */
  unassignAll(input: OnCampaign): Promise<r.UnassignResult> {
    return this.#op("unassignAll", input, admin.unassignAll);
  }
  /** Reassign Some (A3): `count` conversations matching `filter` from the pool or senders, best first, round-robin to `to` (A5). */
  reassignSome(input: OnCampaign & { from: Source; filter: Filter; count: number; to: readonly string[] }): Promise<r.ReassignResult> {
    return this.#op("reassignSome", input, admin.reassignSome);
  }
  /** Reassign All (A4): like {@link Engine.reassignSome} for every matching conversation. */
  reassignAll(input: OnCampaign & { from: Source; filter: Filter; to: readonly string[] }): Promise<r.ReassignResult> {
    return this.#op("reassignAll", input, admin.reassignAll);
  }
  /** Release conversations idle too long, counting texting time only (T4); each texter gets an event. */
  releaseStale(input: { campaignId: string }): Promise<r.StaleReleaseResult> {
    return this.#op("releaseStale", input, admin.releaseStale);
  }
  // --- messaging (M1–M3, O3)
  /** Record many messaging events of one campaign; with `actorId` a texter acts only on their own; late or duplicate events come back `ignored`. */
  recordMessages(input: { campaignId: string; actorId?: string; messages: readonly r.MessageInput[] }): Promise<readonly r.MessageOutcome[]> {
    return this.#op("recordMessages", input, messaging.recordMessages);
  }
  /** The host sent the initial message (M1). */
  recordInitialSent(input: { conversationId: string }): Promise<Conversation> {
    return this.#op("recordInitialSent", input, messaging.recordInitialSent);
  }
  /** The contact replied (M1, M2); with `autoOptOut` an opt-out keyword in a first reply opts the contact out instead (M3, O3). */
  recordContactReply(input: { conversationId: string; text?: string; autoOptOut?: boolean }): Promise<Conversation> {
    return this.#op("recordContactReply", input, messaging.recordContactReply);
  }
  /** The texter answered (M1). */
  recordTexterReply(input: { conversationId: string }): Promise<Conversation> {
    return this.#op("recordTexterReply", input, messaging.recordTexterReply);
  }
  /** Close a conversation (M1); with `actorId`, only its holder or an owner/admin may. */
  closeConversation(input: { conversationId: string; actorId?: string }): Promise<Conversation> {
    return this.#op("closeConversation", input, messaging.closeConversation);
  }
  /** Opt a contact out organization-wide (O3); a repeat changes nothing and records nothing. */
  optOut(input: { orgId: string; contactId: string }): Promise<r.OptOutResult> {
    return this.#op("optOut", input, messaging.optOut);
  }
  // --- reads
  /** One conversation. Throws `CONVERSATION_NOT_FOUND`. */
  getConversation(conversationId: string): Promise<Conversation> {
    return this.#op("getConversation", conversationId, reads.getConversation);
  }
  /** The conversation of a contact in a campaign, or `null`. */
  findConversation(input: { campaignId: string; contactId: string }): Promise<Conversation | null> {
    return this.#op("findConversation", input, reads.findConversation);
  }
  /** A campaign's conversations for its admins, in hand-out order, filtered by status, holder (`null`: unassigned) or contact, a page at a time. */
  listConversations(input: Actor & { campaignId: string; status?: import("../types.js").ConversationStatus; assigneeId?: string | null; contactId?: string } & ListPage): Promise<r.Page<Conversation>> {
    return this.#op("listConversations", input, reads.listConversations);
  }
  // --- events
  /** Events after `after` (or a named `consumer`'s stored position; default 0), oldest first, at most `limit`, filtered by organization, campaign, types. */
  readEvents(input: r.EventQuery & { after?: number; consumer?: string; limit?: number } = {}): Promise<readonly SelfAssignEvent[]> {
    return this.#op("readEvents", input, events.readEvents);
  }
  /** Push: events as they are recorded, as an async iterator, until `signal` aborts (wakes on storage notifications, polls every `pollMs`). */
  watchEvents(input: r.EventQuery & { after?: number; consumer?: string; batchSize?: number; pollMs?: number; signal?: AbortSignal } = {}): AsyncIterable<SelfAssignEvent> {
    return events.watchEvents(this.#shell, input);
  }
  /** The newest event's position (0 when none). */
  getEventHead(): Promise<number> {
    return this.#op("getEventHead", undefined, (shell) => events.getEventHead(shell));
  }
  /** Store a named consumer's position (it handled everything up to `upTo`); positions only move forward. */
  acknowledgeEvents(input: { consumer: string; upTo: number }): Promise<void> {
    return this.#op("acknowledgeEvents", input, events.acknowledgeEvents);
  }
  /** Delete events at or below `upTo` that every stored consumer has handled; returns how many. */
  pruneEvents(input: { upTo: number }): Promise<number> {
    return this.#op("pruneEvents", input, events.pruneEvents);
  }
}

/** Run {@link Engine.releaseStale} for the given campaigns every `everyMs` (T4) until stopped; runs never overlap. */
export function startStaleRelease(engine: Engine, options: StaleReleaseJobOptions): StaleReleaseJob {
  return startJob(engine instanceof Engine ? (campaignId) => engine.releaseStale({ campaignId }) : (undefined as never), options);
}

export type { EngineOptions };

/**
 * The in-memory storage adapter: for tests, demos and single-process hosts. Every method runs its
 * whole decision and write synchronously inside one step of the event loop, so it is atomic with
 * respect to every other call; a step that throws is rolled back through the table's journal.
 * @module
 */
import type {
  AcknowledgeOutcome,
  AcknowledgeRequest,
  LeaseOutcome,
  LeaseRequest,
  StaleReleaseRequest,
  CampaignCommit,
  CampaignWithOrganization,
  ClaimOutcome,
  ClaimRequest,
  CommitOutcome,
  ImportOutcome,
  ImportRequest,
  ListQuery,
  Moved,
  OptOutOutcome,
  OptOutRequest,
  ReleaseOutcome,
  ReleaseRequest,
  StatusChange,
  StatusOutcome,
  StorageAdapter,
} from "../storage/contract.js";
import type {
  Campaign,
  Conversation,
  ConversationStatus,
  ConversationsOverview,
  EventDraft,
  Organization,
  SelfAssignEvent,
} from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import { claimRoom } from "../storage/claim-room.js";
import { bulkSendRunning, finishBulkSend } from "../core/campaign.js";
import { CampaignTable, statusCode } from "./campaign-table.js";

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Keep at most this many events in memory (oldest dropped first); default: keep all. Event
   * positions (`seq`) keep counting either way.
   */
  readonly maxEvents?: number;
}

/** What {@link MemoryStorage.inspect} reports: the persisted state, read straight from the columns. */
export interface MemoryInspection {
  /** Every conversation of the campaign with its holder and status. */
  readonly conversations: readonly {
    /** Conversation id. */
    id: string;
    /** Contact id. */
    contactId: string;
    /** Holder, or `null` when unassigned. */
    holder: string | null;
    /** Status. */
    status: ConversationStatus;
  }[];
}

interface CampaignSlot {
  campaign: Campaign;
  readonly table: CampaignTable;
  readonly idempotency: Map<string, readonly Conversation[]>;
}

/** The in-memory adapter, with an inspection reader for tests. */
export interface MemoryStorage extends StorageAdapter {
  /** The stored conversations of a campaign, read directly (not through the query methods). */
  inspect(campaignId: string): MemoryInspection;
}

/** Create an empty in-memory storage. */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  return new MemoryAdapter(options);
}

const STATUS_COUNT = CONVERSATION_STATUSES.length;
const NEEDS_REPLY = statusCode("needs_reply");
const NOT_STARTED = statusCode("not_started");
const OPTED_OUT = statusCode("opted_out");

class MemoryAdapter implements MemoryStorage {
  private readonly orgs = new Map<string, Organization>();
  private readonly campaigns = new Map<string, CampaignSlot>();
  private readonly campaignsByOrg = new Map<string, string[]>();
  private readonly tokens = new Map<string, string>();
  private readonly optOuts = new Map<string, Set<string>>();
  private readonly events: SelfAssignEvent[] = [];
  private eventSeq = 0;
  private readonly maxEvents: number;

  constructor(options: MemoryStorageOptions) {
    this.maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY;
  }

  // ------------------------------------------------------------------ organizations

  async insertOrganization(org: Organization, events: readonly EventDraft[]): Promise<"ok" | "exists"> {
    if (this.orgs.has(org.id)) return "exists";
    this.orgs.set(org.id, org);
    this.appendEvents(events);
    return "ok";
  }

  async getOrganization(orgId: string): Promise<Organization | null> {
    return this.orgs.get(orgId) ?? null;
  }

  async updateOrganization(
    next: Organization,
    expectedVersion: number,
    events: readonly EventDraft[],
  ): Promise<"ok" | "conflict"> {
    const current = this.orgs.get(next.id);
    if (current === undefined || current.version !== expectedVersion) return "conflict";
    this.orgs.set(next.id, next);
    this.appendEvents(events);
    return "ok";
  }

  // ------------------------------------------------------------------ campaigns

  async insertCampaign(campaign: Campaign, events: readonly EventDraft[]): Promise<"ok" | "exists"> {
    if (this.campaigns.has(campaign.id)) return "exists";
    this.campaigns.set(campaign.id, {
      campaign,
      table: new CampaignTable(campaign.id),
      idempotency: new Map(),
    });
    const list = this.campaignsByOrg.get(campaign.orgId) ?? [];
    list.push(campaign.id);
    this.campaignsByOrg.set(campaign.orgId, list);
    this.indexTokens(campaign);
    this.appendEvents(events);
    return "ok";
  }

  async getCampaign(campaignId: string): Promise<Campaign | null> {
    return this.campaigns.get(campaignId)?.campaign ?? null;
  }

  async getCampaignWithOrganization(campaignId: string): Promise<CampaignWithOrganization | null> {
    const campaign = this.campaigns.get(campaignId)?.campaign;
    const organization = campaign === undefined ? undefined : this.orgs.get(campaign.orgId);
    return campaign === undefined || organization === undefined ? null : { campaign, organization };
  }

  async listCampaigns(orgId: string): Promise<readonly Campaign[]> {
    return (this.campaignsByOrg.get(orgId) ?? []).map((id) => this.campaigns.get(id)!.campaign);
  }

  async findCampaignIdByInviteToken(token: string): Promise<string | null> {
    return this.tokens.get(token) ?? null;
  }

  async commitCampaign(commit: CampaignCommit): Promise<CommitOutcome> {
    const slot = this.campaigns.get(commit.campaignId);
    if (slot === undefined || slot.campaign.version !== commit.expectedVersion) return { kind: "conflict" };
    return this.step(slot, commit.next, () => {
      const moved = commit.moves.map((move) => {
        const { table } = slot;
        const slots =
          move.from.kind === "unassigned"
            ? move.to === null
              ? []
              : table.unassignedSlots(move.statuses, move.limit ?? table.size)
            : table.heldSlots(move.from.kind === "all_holders" ? "all" : move.from.holderIds, move.statuses);
        const chosen = move.limit === null ? slots : slots.slice(0, move.limit);
        return chosen.map((s, i): Moved => {
          const fromHolder = table.holderOf(s);
          const to = move.to === null ? null : move.to[i % move.to.length]!;
          if (to !== null && table.statusOf(s) === "opted_out") {
            throw new Error("storage contract: opted-out conversations are never assigned (O3)");
          }
          table.setHolder(s, to, commit.now);
          return { conversation: table.conversation(s), fromHolder };
        });
      });
      return { result: { kind: "committed" as const, moved }, events: [...commit.events(moved), ...this.finishIfDone(slot, commit.now)] };
    });
  }

  // ------------------------------------------------------------------ conversations

  async importConversations(request: ImportRequest): Promise<ImportOutcome> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined || slot.campaign.version !== request.expectedVersion) return { kind: "conflict" };
    const optedOut = this.optOuts.get(slot.campaign.orgId);
    return this.step(slot, null, () => {
      const { table } = slot;
      table.reserve(request.contacts.length);
      let created = 0;
      for (const contact of request.contacts) {
        if (table.slotOfContact(contact.contactId) !== -1) continue;
        const status = optedOut?.has(contact.contactId) ? "opted_out" : "not_started";
        table.append(contact.contactId, contact.timeZone ?? null, status);
        created++;
      }
      const counts = { created, skipped: request.contacts.length - created };
      return { result: { kind: "imported" as const, ...counts }, events: request.events(counts) };
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined || slot.campaign.version !== request.expectedVersion) return { kind: "conflict" };
    const key = request.idempotencyKey === null ? null : `${request.texterId}\u0000${request.idempotencyKey}`;
    const previous = key === null ? undefined : slot.idempotency.get(key);
    if (previous !== undefined) return { kind: "replayed", conversations: previous };
    return this.step<ClaimOutcome>(slot, request.next, () => {
      const { table } = slot;
      const counts = table.countsOf(request.texterId);
      const held = table.heldCount(request.texterId);
      const decided = claimRoom(request, {
        held,
        notStarted: counts[NOT_STARTED]!,
        needsReply: counts[NEEDS_REPLY]!,
      });
      if (decided.kind === "blocked") return { result: decided, events: request.events([]) };
      const room = decided.room;
      const taken = table.takeFromPool(request.ranks, room, request.contactZoneOpen ?? undefined);
      for (const s of taken) table.setHolder(s, request.texterId, request.now);
      const conversations = taken.map((s) => table.conversation(s));
      const events = request.events(conversations);
      // The events are built, so nothing below can throw: remember the key for retries (S8).
      if (key !== null && conversations.length > 0) slot.idempotency.set(key, conversations);
      return { result: { kind: "claimed" as const, conversations }, events };
    });
  }

  async findClaimByKey(campaignId: string, texterId: string, key: string): Promise<readonly Conversation[] | null> {
    return this.campaigns.get(campaignId)?.idempotency.get(`${texterId}\u0000${key}`) ?? null;
  }

  async release(request: ReleaseRequest): Promise<ReleaseOutcome> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined) return { kind: "not_found", conversationIds: request.conversationIds };
    const { table } = slot;
    const slots = request.conversationIds.map((id) => table.slotOf(id));
    const missing = request.conversationIds.filter((_, i) => slots[i] === -1);
    if (missing.length > 0) return { kind: "not_found", conversationIds: missing };
    const notHeld = request.conversationIds.filter((_, i) => {
      const holder = table.holderOf(slots[i]!);
      return holder === null || (request.holderId !== null && holder !== request.holderId);
    });
    if (notHeld.length > 0) return { kind: "not_held", conversationIds: notHeld };
    return this.step(slot, null, () => {
      const unique = [...new Set(slots)];
      const before = unique.map((s) => table.conversation(s));
      for (const s of unique) table.setHolder(s, null, request.now);
      return { result: { kind: "released" as const, conversations: before }, events: request.events(before) };
    });
  }

  async recordStatus(change: StatusChange): Promise<StatusOutcome> {
    const slot = this.campaigns.get(change.campaignId);
    const s = slot === undefined ? -1 : slot.table.slotOf(change.conversationId);
    if (slot === undefined || s === -1) return { kind: "not_found" };
    const { table } = slot;
    const before = table.conversation(s);
    if (!change.allowedFrom.includes(before.status)) return { kind: "invalid", current: before };
    return this.step(slot, null, () => {
      const replyAt = before.status === "needs_reply" ? before.replyAt! : change.now;
      table.setStatus(s, change.to, replyAt);
      const after = table.conversation(s);
      return { result: { kind: "changed" as const, before, after }, events: [...change.events(before, after), ...this.finishIfDone(slot, change.now)] };
    });
  }

  async optOut(request: OptOutRequest): Promise<OptOutOutcome> {
    const ids = this.campaignsByOrg.get(request.orgId) ?? [];
    const touched: { slot: CampaignSlot; s: number }[] = [];
    for (const id of ids) {
      const slot = this.campaigns.get(id)!;
      const s = slot.table.slotOfContact(request.contactId);
      if (s !== -1 && slot.table.statusOf(s) !== "opted_out") touched.push({ slot, s });
    }
    const before = touched.map(({ slot, s }) => slot.table.conversation(s));
    const alreadyOptedOut = this.optOuts.get(request.orgId)?.has(request.contactId) === true;
    const events = request.events(before, alreadyOptedOut);
    // Nothing below can throw: the events are built, the changes are plain column writes.
    let set = this.optOuts.get(request.orgId);
    if (set === undefined) this.optOuts.set(request.orgId, (set = new Set()));
    set.add(request.contactId);
    for (const { slot, s } of touched) slot.table.setStatus(s, "opted_out", NaN);
    for (const slot of new Set(touched.map((t) => t.slot))) events.push(...this.finishIfDone(slot, request.now));
    this.appendEvents(events);
    return { changed: before, alreadyOptedOut };
  }

  async leaseInitialSends(request: LeaseRequest): Promise<LeaseOutcome> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined || slot.campaign.status !== "bulk_sending") return { conversations: [], closedZones: [] };
    return this.step(slot, null, () => {
      const { table } = slot;
      const { slots, closedZones } = table.leasePending(
        request.workerId,
        request.limit,
        request.now,
        request.now + request.leaseMs,
        request.contactZoneOpen ?? undefined,
      );
      return { result: { conversations: slots.map((s) => table.conversation(s)), closedZones }, events: [] };
    });
  }

  async acknowledgeInitialSends(request: AcknowledgeRequest): Promise<AcknowledgeOutcome> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined) return { sent: [], rejected: request.conversationIds, pending: 0, finished: false };
    return this.step(slot, null, () => {
      const { table } = slot;
      const sent: Conversation[] = [];
      const rejected: string[] = [];
      for (const id of new Set(request.conversationIds)) {
        const s = table.slotOf(id);
        if (s === -1 || !table.leasedTo(s, request.workerId)) {
          rejected.push(id);
          continue;
        }
        sent.push(table.conversation(s));
        table.setStatus(s, "initial_sent", NaN);
        table.clearLease(s);
      }
      const finishing = this.finishIfDone(slot, request.now);
      return {
        result: { sent, rejected, pending: table.pendingCount(), finished: finishing.length > 0 },
        events: [...request.events(sent), ...finishing],
      };
    });
  }

  async releaseStale(request: StaleReleaseRequest): Promise<readonly Conversation[]> {
    const slot = this.campaigns.get(request.campaignId);
    if (slot === undefined) return [];
    return this.step(slot, null, () => {
      const { table } = slot;
      const slots = table.staleSlots(request.notStartedBefore, request.needsReplyBefore);
      const before = slots.map((s) => table.conversation(s));
      for (const s of slots) table.setHolder(s, null, request.now);
      return { result: before, events: request.events(before) };
    });
  }

  // ------------------------------------------------------------------ reads

  async getConversation(conversationId: string): Promise<Conversation | null> {
    const cut = conversationId.lastIndexOf(":");
    if (cut <= 0) return null;
    const slot = this.campaigns.get(conversationId.slice(0, cut));
    if (slot === undefined) return null;
    const s = slot.table.slotOf(conversationId);
    return s === -1 ? null : slot.table.conversation(s);
  }

  async listConversations(query: ListQuery): Promise<readonly Conversation[]> {
    const slot = this.campaigns.get(query.campaignId);
    if (slot === undefined) return [];
    const { table } = slot;
    return table.listSlots(query.holderId, query.statuses, query.limit).map((s) => table.conversation(s));
  }

  async overview(campaignId: string): Promise<ConversationsOverview> {
    const slot = this.campaigns.get(campaignId);
    const table = slot?.table ?? new CampaignTable(campaignId);
    const byStatus = Object.fromEntries(CONVERSATION_STATUSES.map((s) => [s, 0])) as Record<
      ConversationStatus,
      number
    >;
    const unassigned = table.countsOf(null);
    for (let c = 0; c < STATUS_COUNT; c++) byStatus[CONVERSATION_STATUSES[c]!] += unassigned[c]!;
    const senders = table.activeHolders().flatMap((userId) => {
      const counts = table.countsOf(userId);
      for (let c = 0; c < STATUS_COUNT; c++) byStatus[CONVERSATION_STATUSES[c]!] += counts[c]!;
      const held = table.heldCount(userId) - counts[OPTED_OUT]!;
      if (held === 0) return [];
      return {
        userId,
        held,
        notStarted: counts[NOT_STARTED]!,
        needsReply: counts[NEEDS_REPLY]!,
      };
    });
    let unassignedTotal = 0;
    for (let c = 0; c < STATUS_COUNT; c++) if (c !== OPTED_OUT) unassignedTotal += unassigned[c]!;
    return {
      campaignId,
      total: table.size,
      unassigned: unassignedTotal,
      unassignedNotStarted: unassigned[NOT_STARTED]!,
      unassignedNeedsReply: unassigned[NEEDS_REPLY]!,
      byStatus,
      senders,
    };
  }

  async readEvents(after: number, limit: number): Promise<readonly SelfAssignEvent[]> {
    const first = this.events.length === 0 ? 1 : this.events[0]!.seq;
    const start = Math.max(0, after + 1 - first);
    return this.events.slice(start, start + limit);
  }

  inspect(campaignId: string): MemoryInspection {
    const slot = this.campaigns.get(campaignId);
    return { conversations: slot === undefined ? [] : slot.table.rawRows() };
  }

  // ------------------------------------------------------------------ internals

  /**
   * Run one atomic step on a campaign: optionally replace the aggregate, run `body` (which mutates
   * the table and builds the events), then record the events. If anything throws, the table and the
   * aggregate are restored and nothing is recorded.
   */
  private step<R>(slot: CampaignSlot, next: Campaign | null, body: () => { result: R; events: EventDraft[] }): R {
    const previous = slot.campaign;
    try {
      const { result, events } = slot.table.atomically(() => {
        if (next !== null) slot.campaign = next;
        return body();
      });
      if (next !== null) this.indexTokens(next);
      this.appendEvents(events);
      return result;
    } catch (error) {
      slot.campaign = previous;
      throw error;
    }
  }

  /** The bulk-send rule (C6): inside a step, finish a running bulk send that has nothing pending. */
  private finishIfDone(slot: CampaignSlot, now: number): EventDraft[] {
    if (!bulkSendRunning(slot.campaign) || slot.table.pendingCount() > 0) return [];
    const d = finishBulkSend(slot.campaign, now);
    slot.campaign = d.state;
    return d.events;
  }

  private indexTokens(campaign: Campaign): void {
    if (campaign.invite.token !== null) this.tokens.set(campaign.invite.token, campaign.id);
    for (const token of campaign.invite.revokedTokens) this.tokens.set(token, campaign.id);
  }

  private appendEvents(drafts: readonly EventDraft[]): void {
    for (const draft of drafts) this.events.push({ ...draft, seq: ++this.eventSeq } as SelfAssignEvent);
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
  }
}

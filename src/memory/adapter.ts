/**
 * The in-memory storage adapter: for tests, demos and single-process hosts. Every method runs its
 * whole decision and write synchronously inside one step of the event loop, so it is atomic with
 * respect to every other call (and no caller ever waits: there is no lock to queue for); a step that
 * throws is rolled back through the table's journal and the step's undo list.
 * @module
 */
import type * as A from "../adapter.js";
import { acknowledgedFacts, bulkSendRunning, claimFacts, claimRoom, finishBulkSend, importedFacts, memberFacts, movedFacts, optOutFacts, senderFacts, statusCode, unassignedFacts, updateFacts, zoneOpen } from "../adapter.js";
import type { Fact } from "../storage/facts.js";
import { type Campaign, CONVERSATION_STATUSES, type Conversation, type ConversationStatus, type Member, type Organization, type SelfAssignEvent, type Sender } from "../types.js";
import { CampaignTable } from "./campaign-table.js";
import { listSlots } from "./listing.js";
import { applyUpdate, runMove } from "./pool-steps.js";
import { FactLog } from "./fact-log.js";
import { Roster } from "./roster.js";

/** Options of {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Keep at most this many events in memory (oldest dropped first); default: keep all. Positions keep counting either way. */
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

/** The in-memory adapter, with an inspection reader for tests. */
export interface MemoryStorage extends A.StorageAdapter {
  /** The stored conversations of a campaign, read directly (not through the query methods). */
  inspect(campaignId: string): MemoryInspection;
}

/** Create an empty in-memory storage. */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  return new MemoryAdapter(options);
}

interface OrgSlot {
  org: Organization;
  readonly members: Roster<Member>;
  readonly optOuts: Set<string>;
  readonly campaigns: string[];
}

interface CampaignSlot {
  campaign: Campaign;
  readonly table: CampaignTable;
  readonly senders: Roster<Sender>;
  readonly keys: Map<string, readonly Conversation[]>;
}

const NEEDS_REPLY = statusCode("needs_reply");
const NOT_STARTED = statusCode("not_started");

class MemoryAdapter implements MemoryStorage {
  readonly capabilities = { bulkSend: true, staleRelease: true, contactZones: true, campaignListing: true, eventConsumers: true } as const;
  private readonly orgs = new Map<string, OrgSlot>();
  private readonly campaigns = new Map<string, CampaignSlot>();
  private readonly tokens = new Map<string, string>();
  private readonly log: FactLog;

  constructor(options: MemoryStorageOptions) {
    this.log = new FactLog(options.maxEvents ?? Number.POSITIVE_INFINITY);
  }

  // ------------------------------------------------------------------ aggregates and rosters

  async getOrganization(orgId: string): Promise<Organization | null> {
    return this.orgs.get(orgId)?.org ?? null;
  }

  async getCampaign(campaignId: string): Promise<Campaign | null> {
    return this.campaigns.get(campaignId)?.campaign ?? null;
  }

  async findCampaignByToken(token: string): Promise<string | null> {
    return this.tokens.get(token) ?? null;
  }

  async getContext(campaignId: string, userId: string): Promise<A.CampaignContext | null> {
    const slot = this.campaigns.get(campaignId);
    const org = slot === undefined ? undefined : this.orgs.get(slot.campaign.orgId);
    if (slot === undefined || org === undefined) return null;
    return { campaign: slot.campaign, organization: org.org, role: org.members.get(userId)?.role ?? null, sender: slot.senders.get(userId) ?? null };
  }

  async readRoster(q: A.RosterQuery): Promise<A.RosterPage> {
    const roster: Roster<Member | Sender> | undefined = q.roster === "members" ? this.orgs.get(q.orgId)?.members : this.campaigns.get(q.campaignId)?.senders;
    if (roster === undefined) return { rows: [], cursor: null };
    if (q.userIds !== undefined) return { rows: roster.lookup(q.userIds).slice(0, q.limit), cursor: null };
    const after = q.after === undefined || q.after === null ? 0 : /^[0-9]{1,15}$/.test(q.after) ? Number(q.after) : Number.MAX_SAFE_INTEGER;
    const page = roster.page(after, q.limit);
    return { rows: page.rows, cursor: page.cursor === null ? null : String(page.cursor) };
  }

  async commitOrganization(c: A.OrganizationCommit): Promise<A.OrganizationOutcome> {
    let slot = this.orgs.get(c.orgId);
    if (c.next !== null && c.expectedVersion === null) {
      if (slot !== undefined) return { kind: "exists" };
      slot = { org: c.next, members: new Roster(), optOuts: new Set(), campaigns: [] };
    } else if (slot === undefined || (c.next !== null && slot.org.version !== c.expectedVersion)) {
      return { kind: "conflict" };
    }
    const target = slot;
    const added: string[] = [];
    const existing: string[] = [];
    let before: Member | null = null;
    const change = c.members;
    if (change?.kind === "add") {
      for (const m of change.members) (target.members.get(m.userId) !== undefined ? existing : added).push(m.userId);
    } else if (change !== null) {
      before = target.members.get(change.userId) ?? null;
      if (before === null) return { kind: "refused", reason: "not_a_member", campaignIds: [] };
      const owners = before.role === "owner" && target.members.all().filter((m) => m.role === "owner").length === 1;
      if (owners && (change.kind === "remove" || change.role !== "owner")) return { kind: "refused", reason: "last_owner", campaignIds: [] };
      if (change.kind === "remove") {
        const busy = target.campaigns.filter((id) => {
          const s = this.campaigns.get(id)!;
          return s.campaign.status !== "archived" && s.senders.get(change.userId) !== undefined;
        });
        if (busy.length > 0) return { kind: "refused", reason: "a_sender", campaignIds: busy };
      }
    }
    // Everything read from the request first: once the facts are built, nothing below can throw.
    const at = c.context.at;
    const facts = [...c.facts, ...(change === null ? [] : memberFacts(c.context, change, { added, before }))];
    if (change?.kind === "add") {
      const roles = new Map(change.members.map((m) => [m.userId, m.role]));
      for (const userId of added) target.members.add({ userId, role: roles.get(userId)!, addedAt: at });
    } else if (change?.kind === "remove") target.members.remove(change.userId);
    else if (change?.kind === "set_role") target.members.replace({ ...before!, role: change.role });
    if (c.next !== null) target.org = c.next;
    this.orgs.set(c.orgId, target);
    this.append(facts);
    return { kind: "committed", added, existing, before };
  }

  async commitCampaign(c: A.CampaignCommit): Promise<A.CampaignOutcome> {
    if (c.expectedVersion === null) {
      if (this.campaigns.has(c.campaignId) || c.next === null) return { kind: "exists" };
      const org = this.orgs.get(c.next.orgId);
      if (org === undefined) return { kind: "conflict" };
      this.campaigns.set(c.campaignId, { campaign: c.next, table: new CampaignTable(c.campaignId), senders: new Roster(), keys: new Map() });
      org.campaigns.push(c.campaignId);
      this.indexTokens(c.next);
      this.append(c.facts);
      return { kind: "committed", campaign: c.next, added: [], moved: [] };
    }
    const slot = this.campaigns.get(c.campaignId);
    if (slot === undefined || slot.campaign.version !== c.expectedVersion) return { kind: "conflict" };
    const org = this.orgs.get(slot.campaign.orgId)!;
    // Refusals first: nothing is touched before every row-level rule holds.
    const s = c.senders;
    if (s?.kind === "add") {
      const strangers = s.userIds.filter((u) => org.members.get(u) === undefined);
      if (strangers.length > 0) return { kind: "refused", reason: "not_members", userIds: strangers };
    }
    if (s?.kind === "remove" && slot.senders.get(s.userId) === undefined) return { kind: "refused", reason: "not_senders", userIds: [s.userId] };
    const after = (u: string) => (s?.kind === "add" && s.userIds.includes(u)) || (slot.senders.get(u) !== undefined && !(s?.kind === "remove" && s.userId === u));
    const outsiders = c.moves.flatMap((m) => (Array.isArray(m.to) ? m.to.filter((u) => !after(u)) : []));
    if (outsiders.length > 0) return { kind: "refused", reason: "not_senders", userIds: [...new Set(outsiders)] };
    const undo: (() => void)[] = [];
    const previous = slot.campaign;
    try {
      return slot.table.atomically(() => {
        if (c.next !== null) slot.campaign = c.next;
        const added: string[] = [];
        if (s?.kind === "add") {
          for (const userId of s.userIds) {
            if (slot.senders.get(userId) !== undefined) continue;
            undo.push(slot.senders.add({ userId, addedAt: c.context.at, via: s.via }));
            added.push(userId);
          }
        } else if (s?.kind === "remove") undo.push(slot.senders.remove(s.userId));
        const senders = slot.senders.all().map((x) => x.userId);
        const moved: A.Moved[][] = c.moves.map((m) => runMove(slot.table, m, senders, c.now));
        const facts: Fact[] = [
          ...c.facts,
          ...(s?.kind === "add" ? senderFacts(c.context, added, s.via) : []),
          ...c.moves.flatMap((m, i) => movedFacts(c.context, m, moved[i]!)),
          ...this.finishIfDone(slot, c.now),
        ];
        if (c.next !== null) this.indexTokens(c.next);
        this.append(facts);
        return { kind: "committed", campaign: slot.campaign, added, moved } as const;
      });
    } catch (error) {
      slot.campaign = previous;
      for (const u of undo.reverse()) u();
      throw error;
    }
  }

  // ------------------------------------------------------------------ the pool

  async importConversations(r: A.ImportRequest): Promise<A.ImportOutcome> {
    const slot = this.campaigns.get(r.campaignId);
    if (slot === undefined || slot.campaign.version !== r.expectedVersion) return { kind: "conflict" };
    const optedOut = this.orgs.get(slot.campaign.orgId)!.optOuts;
    return slot.table.atomically(() => {
      const { table } = slot;
      table.reserve(r.contacts.length);
      let created = 0;
      const ids: { contactId: string; conversationId: string; created: boolean }[] = [];
      for (const contact of r.contacts) {
        let s = table.slotOfContact(contact.contactId);
        const fresh = s === -1;
        if (fresh) {
          s = table.append(contact.contactId, contact.timeZone ?? null, optedOut.has(contact.contactId) ? "opted_out" : "not_started");
          created++;
        }
        if (r.returnIds) ids.push({ contactId: contact.contactId, conversationId: table.idOf(s), created: fresh });
      }
      const counts = { created, skipped: r.contacts.length - created };
      this.append(importedFacts(r.context, counts));
      return { kind: "imported", ...counts, ids };
    });
  }

  async claim(r: A.ClaimRequest): Promise<A.ClaimOutcome> {
    const slot = this.campaigns.get(r.campaignId);
    if (slot === undefined || slot.campaign.version !== r.expectedVersion) return { kind: "conflict" };
    const key = r.idempotencyKey === null ? null : JSON.stringify([r.texterId, r.idempotencyKey]);
    const previous = key === null ? undefined : slot.keys.get(key);
    if (previous !== undefined) return { kind: "replayed", conversations: previous };
    const member = this.orgs.get(slot.campaign.orgId)!.members.get(r.texterId);
    const sender = slot.senders.get(r.texterId);
    if (r.join === null ? sender === undefined || member === undefined : member === undefined) {
      return { kind: "refused", reason: r.join === null ? "not_a_sender" : "not_a_member" };
    }
    const joined = r.join !== null && sender === undefined;
    const { table } = slot;
    const counts = table.countsOf(r.texterId);
    const room = claimRoom(r, { held: table.heldCount(r.texterId), notStarted: counts[NOT_STARTED]!, needsReply: counts[NEEDS_REPLY]! });
    const undoJoin = joined ? slot.senders.add({ userId: r.texterId, addedAt: r.context.at, via: "invite" }) : () => undefined;
    try {
      return table.atomically((): A.ClaimOutcome => {
        if (room.kind === "blocked") {
          this.append(claimFacts(r.context, r.join, joined, r.texterId, []));
          return { kind: "blocked", reason: room.reason, joined };
        }
        const taken = table.takeFromPool(r.ranks, room.room, r.contactZones === null ? undefined : zoneOpen(r.contactZones));
        const conversations: Conversation[] = new Array(taken.length);
        for (let k = 0; k < taken.length; k++) {
          table.setHolder(taken[k]!, r.texterId, r.now);
          conversations[k] = table.conversation(taken[k]!);
        }
        const facts = claimFacts(r.context, r.join, joined, r.texterId, conversations);
        // The facts are built, so nothing below can throw: remember the key for retries (S8).
        if (key !== null && conversations.length > 0) slot.keys.set(key, conversations);
        // The last fact names the taken slots in order (one holder): the log keeps them without parsing the ids.
        this.append(facts, conversations.length > 0 ? taken : null);
        return { kind: "claimed", conversations, joined };
      });
    } catch (error) {
      undoJoin();
      throw error;
    }
  }

  async updateConversations(u: A.ConversationUpdate): Promise<A.UpdateOutcome> {
    const slot = this.campaigns.get(u.campaignId);
    if (slot === undefined) return { applied: !u.atomic || u.changes.length === 0, results: u.changes.map(() => ({ kind: "not_found" })) };
    try {
      return slot.table.atomically(() => {
        const results = u.changes.map((change) => applyUpdate(slot.table, change, u.now));
        if (u.atomic && results.some((x) => x.kind !== "changed")) throw new Abandon(results);
        const changed = results.filter((x): x is Extract<A.ConversationChangeResult, { kind: "changed" }> => x.kind === "changed");
        this.append([...updateFacts(u.context, u.releaseReason, changed), ...(changed.some((x) => x.before.status === "not_started") ? this.finishIfDone(slot, u.now) : [])]);
        return { applied: true, results };
      });
    } catch (error) {
      if (error instanceof Abandon) return { applied: false, results: error.results };
      throw error;
    }
  }

  async optOut(r: A.OptOutRequest): Promise<A.OptOutOutcome> {
    const org = this.orgs.get(r.orgId);
    if (org === undefined) return { changed: [], alreadyOptedOut: false };
    const touched: { slot: CampaignSlot; s: number }[] = [];
    for (const id of org.campaigns) {
      const slot = this.campaigns.get(id)!;
      const s = slot.table.slotOfContact(r.contactId);
      if (s !== -1 && slot.table.statusOf(s) !== "opted_out") touched.push({ slot, s });
    }
    const before = touched.map(({ slot, s }) => slot.table.conversation(s));
    const alreadyOptedOut = org.optOuts.has(r.contactId);
    const facts = optOutFacts(r.context, r.contactId, before, alreadyOptedOut);
    // Nothing below can throw: the facts are built, the changes are plain column writes.
    org.optOuts.add(r.contactId);
    for (const { slot, s } of touched) slot.table.setStatus(s, "opted_out", NaN);
    for (const slot of new Set(touched.map((t) => t.slot))) facts.push(...this.finishIfDone(slot, r.now));
    this.append(facts);
    return { changed: before, alreadyOptedOut };
  }

  async listConversations(q: A.ConversationQuery): Promise<A.ConversationPage> {
    const slot = this.campaigns.get(q.campaignId);
    if (slot === undefined) return { rows: [], cursor: null };
    const { table } = slot;
    const wanted =
      q.ids === undefined && q.contactIds === undefined
        ? undefined
        : [...(q.ids ?? []).map((id) => table.slotOf(id)), ...(q.contactIds ?? []).map((c) => table.slotOfContact(c))];
    const page = listSlots(table, { holder: q.holder, statuses: q.statuses, status: q.status, slots: wanted, after: q.after ?? null, limit: q.limit });
    return { rows: page.slots.map((s) => table.conversation(s)), cursor: page.cursor };
  }

  async countConversations(campaignId: string): Promise<A.ConversationCounts> {
    const table = this.campaigns.get(campaignId)?.table;
    if (table === undefined) return { rows: [] };
    const rows: { holder: string | null; status: ConversationStatus; count: number }[] = [];
    for (const holder of [null, ...table.activeHolders()]) {
      const counts = table.countsOf(holder);
      CONVERSATION_STATUSES.forEach((status, code) => {
        if (counts[code]! > 0) rows.push({ holder, status, count: counts[code]! });
      });
    }
    return { rows };
  }

  // ------------------------------------------------------------------ facts

  async readFacts(q: A.FactQuery): Promise<readonly SelfAssignEvent[]> {
    return this.log.read(q);
  }

  async factHead(): Promise<number> {
    return this.log.head();
  }

  onFacts(listener: () => void): () => void {
    return this.log.listen(listener);
  }

  async readConsumer(name: string): Promise<number> {
    return this.log.consumer(name);
  }

  async saveConsumer(name: string, position: number): Promise<void> {
    this.log.saveConsumer(name, position);
  }

  async pruneFacts(upTo: number): Promise<number> {
    return this.log.prune(upTo);
  }

  // ------------------------------------------------------------------ capabilities

  async leaseInitialSends(r: A.LeaseRequest): Promise<A.LeaseOutcome> {
    const slot = this.campaigns.get(r.campaignId);
    if (slot === undefined || slot.campaign.status !== "bulk_sending") return { conversations: [], closedZones: [] };
    const { table } = slot;
    return table.atomically(() => {
      const { slots, closedZones } = table.leases.lease(r.workerId, r.limit, r.now, r.now + r.leaseMs, r.contactZones === null ? null : zoneOpen(r.contactZones));
      return { conversations: slots.map((s) => table.conversation(s)), closedZones };
    });
  }

  async acknowledgeInitialSends(r: A.AcknowledgeRequest): Promise<A.AcknowledgeOutcome> {
    const slot = this.campaigns.get(r.campaignId);
    if (slot === undefined) return { sent: [], rejected: [...r.conversationIds], pending: 0, finished: false };
    const { table } = slot;
    return table.atomically(() => {
      const sent: Conversation[] = [];
      const rejected: string[] = [];
      for (const id of new Set(r.conversationIds)) {
        const s = table.slotOf(id);
        if (s === -1 || !table.leases.leasedTo(s, r.workerId)) {
          rejected.push(id);
          continue;
        }
        sent.push(table.conversation(s));
        table.setStatus(s, "initial_sent", NaN);
        table.leases.clear(s);
      }
      const finishing = sent.length > 0 ? this.finishIfDone(slot, r.now) : [];
      this.append([...acknowledgedFacts(r.context, sent), ...finishing]);
      return { sent, rejected, pending: table.pendingCount(), finished: finishing.length > 0 };
    });
  }

  async releaseStale(r: A.StaleReleaseRequest): Promise<readonly Conversation[]> {
    const slot = this.campaigns.get(r.campaignId);
    if (slot === undefined) return [];
    const { table } = slot;
    return table.atomically(() => {
      const slots = table.staleSlots(r.notStartedBefore, r.needsReplyBefore);
      const before = slots.map((s) => table.conversation(s));
      for (const s of slots) table.setHolder(s, null, r.now);
      this.append(unassignedFacts(r.context, before, "stale_release"));
      return before;
    });
  }

  async listCampaigns(q: A.CampaignListQuery): Promise<A.CampaignPage> {
    const ids = this.orgs.get(q.orgId)?.campaigns ?? [];
    const start = q.after === undefined || q.after === null ? 0 : /^[0-9]{1,15}$/.test(q.after) ? Number(q.after) : ids.length;
    const rows = ids.slice(start, start + q.limit).map((id) => this.campaigns.get(id)!.campaign);
    return { rows, cursor: start + q.limit < ids.length ? String(start + q.limit) : null };
  }

  // ------------------------------------------------------------------ inspection and internals

  inspect(campaignId: string): MemoryInspection {
    const table = this.campaigns.get(campaignId)?.table;
    const rows = [];
    for (let s = 0; s < (table?.size ?? 0); s++) {
      const c = table!.conversation(s);
      rows.push({ id: c.id, contactId: c.contactId, holder: c.assigneeId, status: c.status });
    }
    return { conversations: rows };
  }

  /** The bulk-send rule (C6): inside a step, finish a running bulk send that has nothing pending. */
  private finishIfDone(slot: CampaignSlot, now: number): Fact[] {
    if (!bulkSendRunning(slot.campaign) || slot.table.pendingCount() > 0) return [];
    const d = finishBulkSend(slot.campaign, now);
    slot.campaign = d.state;
    return [...d.facts];
  }

  private indexTokens(campaign: Campaign): void {
    if (campaign.invite.token !== null) this.tokens.set(campaign.invite.token, campaign.id);
    for (const token of campaign.invite.revokedTokens) this.tokens.set(token, campaign.id);
  }

  /** Record facts in the fact log (`lastSeqs`: see `FactLog.append`). */
  private append(facts: readonly Fact[], lastSeqs: Int32Array | null = null): void {
    this.log.append(facts, lastSeqs);
  }
}

/** Thrown inside a step to roll an atomic update back while still answering with its results. */
class Abandon {
  constructor(readonly results: A.UpdateOutcome["results"]) {}
}

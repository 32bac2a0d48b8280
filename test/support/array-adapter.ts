/**
 * A deliberately plain storage adapter over arrays and maps: every write copies the campaign's rows,
 * changes the copy, builds the events, and only then swaps the copy in — so a failure anywhere leaves
 * nothing behind. It passes the conformance suite, and its protected hooks let the broken variants in
 * `broken-adapters.ts` each get exactly one thing wrong.
 */
import { handOutRank } from "../../src/core/policy.js";
import { bulkSendRunning, finishBulkSend } from "../../src/core/campaign.js";
import type {
  AcknowledgeOutcome,
  AcknowledgeRequest,
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
  MoveSpec,
  Moved,
  OptOutOutcome,
  OptOutRequest,
  ReleaseOutcome,
  ReleaseRequest,
  StatusChange,
  StatusOutcome,
  StatusSet,
  StorageAdapter,
} from "../../src/storage/contract.js";
import type { Campaign, Conversation, ConversationsOverview, EventDraft, Organization, SelfAssignEvent } from "../../src/types.js";
import { CONVERSATION_STATUSES } from "../../src/types.js";
import type { InspectedConversation } from "../../src/testing.js";

type Row = { -readonly [K in keyof Conversation]: Conversation[K] };

const order = (c: Conversation) => handOutRank(c.status) ?? (c.status === "closed" ? 3 : 4);
/** Hand-out order (S4). */
export function byHandOut(a: Conversation, b: Conversation): number {
  return order(a) - order(b) || (order(a) === 0 ? a.replyAt! - b.replyAt! : 0) || a.seq - b.seq;
}
function matches(set: StatusSet, c: Conversation): boolean {
  const rank = handOutRank(c.status);
  return set === "all" || (set === "open" ? rank !== null : set === "started" ? rank === 0 || rank === 2 : c.status === set);
}
const copy = (rows: Row[]) => rows.map((r) => ({ ...r }));

export class ArrayAdapter implements StorageAdapter {
  protected orgs = new Map<string, Organization>();
  protected campaigns = new Map<string, Campaign>();
  protected rows = new Map<string, Row[]>();
  protected optOuts = new Map<string, Set<string>>();
  protected keys = new Map<string, readonly Conversation[]>();
  protected log: SelfAssignEvent[] = [];
  protected leases = new Map<string, { owner: string; until: number }>();

  /** Independent reader: the raw rows. */
  inspect(campaignId: string): InspectedConversation[] {
    return (this.rows.get(campaignId) ?? []).map((r) => ({ id: r.id, contactId: r.contactId, holder: r.assigneeId, status: r.status }));
  }

  protected record(events: readonly EventDraft[]): void {
    for (const e of events) this.log.push({ ...e, seq: this.log.length + 1 } as SelfAssignEvent);
  }

  /** The bulk-send rule (C6): the finished campaign and its events when `rows` leave nothing pending. */
  protected finishIfDone(campaign: Campaign | undefined, rows: readonly Row[], now: number): { state: Campaign; events: EventDraft[] } | null {
    if (campaign === undefined || !bulkSendRunning(campaign) || rows.some((r) => r.status === "not_started")) return null;
    return finishBulkSend(campaign, now);
  }

  async insertOrganization(org: Organization, events: readonly EventDraft[]) {
    if (this.orgs.has(org.id)) return "exists" as const;
    this.orgs.set(org.id, org);
    this.record(events);
    return "ok" as const;
  }
  async getOrganization(id: string) {
    return this.orgs.get(id) ?? null;
  }
  async updateOrganization(next: Organization, expected: number, events: readonly EventDraft[]) {
    if (this.orgs.get(next.id)?.version !== expected) return "conflict" as const;
    this.orgs.set(next.id, next);
    this.record(events);
    return "ok" as const;
  }
  async insertCampaign(c: Campaign, events: readonly EventDraft[]) {
    if (this.campaigns.has(c.id)) return "exists" as const;
    this.campaigns.set(c.id, c);
    this.rows.set(c.id, []);
    this.record(events);
    return "ok" as const;
  }
  async getCampaign(id: string) {
    return this.campaigns.get(id) ?? null;
  }
  async getCampaignWithOrganization(id: string): Promise<CampaignWithOrganization | null> {
    const campaign = this.campaigns.get(id);
    const organization = campaign && this.orgs.get(campaign.orgId);
    return campaign && organization ? { campaign, organization } : null;
  }
  async listCampaigns(orgId: string) {
    return [...this.campaigns.values()].filter((c) => c.orgId === orgId);
  }
  async findCampaignIdByInviteToken(token: string) {
    for (const c of this.campaigns.values()) if (c.invite.token === token || c.invite.revokedTokens.includes(token)) return c.id;
    return null;
  }

  /** Select and deal one move on `rows` (a draft copy). */
  protected move(rows: Row[], move: MoveSpec, now: number): Moved[] {
    const candidates = rows
      .filter((r) =>
        move.from.kind === "unassigned"
          ? r.assigneeId === null && handOutRank(r.status) !== null && move.to !== null
          : move.from.kind === "all_holders"
            ? r.assigneeId !== null
            : r.assigneeId !== null && move.from.holderIds.includes(r.assigneeId),
      )
      .filter((r) => matches(move.statuses, r))
      .sort(byHandOut)
      .slice(0, move.limit ?? undefined);
    return candidates.map((r, i) => {
      const fromHolder = r.assigneeId;
      const to = move.to === null ? null : move.to[i % move.to.length]!;
      if (to !== fromHolder) {
        r.assigneeId = to;
        r.assignedAt = to === null ? null : now;
      }
      return { conversation: { ...r }, fromHolder };
    });
  }

  async commitCampaign(commit: CampaignCommit): Promise<CommitOutcome> {
    if (this.campaigns.get(commit.campaignId)?.version !== commit.expectedVersion) return { kind: "conflict" };
    const draft = copy(this.rows.get(commit.campaignId)!);
    const moved = commit.moves.map((m) => this.move(draft, m, commit.now));
    const events = commit.events(moved);
    const finished = this.finishIfDone(commit.next ?? this.campaigns.get(commit.campaignId), draft, commit.now);
    if (commit.next) this.campaigns.set(commit.campaignId, commit.next);
    if (finished) this.campaigns.set(commit.campaignId, finished.state);
    this.rows.set(commit.campaignId, draft);
    this.record([...events, ...(finished?.events ?? [])]);
    return { kind: "committed", moved };
  }

  async importConversations(req: ImportRequest): Promise<ImportOutcome> {
    const campaign = this.campaigns.get(req.campaignId);
    if (campaign?.version !== req.expectedVersion) return { kind: "conflict" };
    const draft = copy(this.rows.get(req.campaignId)!);
    const opted = this.optOuts.get(campaign.orgId);
    let created = 0;
    for (const c of req.contacts) {
      if (draft.some((r) => r.contactId === c.contactId)) continue;
      const seq = draft.length;
      draft.push({
        id: `${req.campaignId}#${seq}`,
        campaignId: req.campaignId,
        contactId: c.contactId,
        status: opted?.has(c.contactId) ? "opted_out" : "not_started",
        assigneeId: null,
        assignedAt: null,
        replyAt: null,
        contactTimeZone: c.timeZone ?? null,
        seq,
      });
      created++;
    }
    const counts = { created, skipped: req.contacts.length - created };
    const events = req.events(counts);
    this.rows.set(req.campaignId, draft);
    this.record(events);
    return { kind: "imported", ...counts };
  }

  async findClaimByKey(campaignId: string, texterId: string, key: string) {
    return this.keys.get(JSON.stringify([campaignId, texterId, key])) ?? null;
  }

  /** The pool for a claim, best first, within the allowed ranks. Hook for the broken variants. */
  protected pool(rows: Row[], ranks: readonly number[] = [0, 1, 2], zoneOpen: ((z: string) => boolean) | null = null): Row[] {
    return rows
      .filter((r) => r.assigneeId === null && handOutRank(r.status) !== null && ranks.includes(handOutRank(r.status)!))
      .filter((r) => r.status !== "not_started" || r.contactTimeZone === null || zoneOpen === null || zoneOpen(r.contactTimeZone))
      .sort(byHandOut);
  }

  /** The gate, cap and holding checks (S5, S7, L3), or `null` when the claim may go ahead. */
  protected blocked(rows: Row[], req: ClaimRequest): "batch_unfinished" | "cap_reached" | "holding" | null {
    const mine = rows.filter((r) => r.assigneeId === req.texterId);
    if (req.onlyIfHoldingNone && mine.length > 0) return "holding";
    const count = (s: string) => mine.filter((r) => r.status === s).length;
    if (req.gate.maxNotStarted !== null && count("not_started") > req.gate.maxNotStarted) return "batch_unfinished";
    if (req.gate.maxNeedsReply !== null && count("needs_reply") > req.gate.maxNeedsReply) return "batch_unfinished";
    if (req.maxHeld !== null && req.maxHeld - mine.length <= 0) return "cap_reached";
    return null;
  }

  async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    if (this.campaigns.get(req.campaignId)?.version !== req.expectedVersion) return { kind: "conflict" };
    const keyId = req.idempotencyKey === null ? null : JSON.stringify([req.campaignId, req.texterId, req.idempotencyKey]);
    const previous = keyId === null ? undefined : this.keys.get(keyId);
    if (previous) return { kind: "replayed", conversations: previous };
    const draft = copy(this.rows.get(req.campaignId)!);
    const reason = this.blocked(draft, req);
    let outcome: ClaimOutcome;
    if (reason !== null) outcome = { kind: "blocked", reason };
    else {
      const held = draft.filter((r) => r.assigneeId === req.texterId).length;
      const room = req.maxHeld === null ? req.limit : Math.min(req.limit, req.maxHeld - held);
      const picked = this.pool(draft, req.ranks, req.contactZoneOpen).slice(0, room);
      for (const r of picked) {
        r.assigneeId = req.texterId;
        r.assignedAt = req.now;
      }
      outcome = { kind: "claimed", conversations: picked.map((r) => ({ ...r })) };
    }
    const events = req.events(outcome.kind === "claimed" ? outcome.conversations : []);
    if (req.next) this.campaigns.set(req.campaignId, req.next);
    this.rows.set(req.campaignId, draft);
    if (keyId !== null && outcome.kind === "claimed" && outcome.conversations.length > 0) this.keys.set(keyId, outcome.conversations);
    this.record(events);
    return outcome;
  }

  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    const draft = copy(this.rows.get(req.campaignId) ?? []);
    const found = req.conversationIds.map((id) => draft.find((r) => r.id === id));
    const missing = req.conversationIds.filter((_, i) => !found[i]);
    if (missing.length > 0) return { kind: "not_found", conversationIds: missing };
    const notHeld = req.conversationIds.filter((_, i) => found[i]!.assigneeId === null || (req.holderId !== null && found[i]!.assigneeId !== req.holderId));
    if (notHeld.length > 0) return { kind: "not_held", conversationIds: notHeld };
    const unique = [...new Set(found as Row[])];
    const before = unique.map((r) => ({ ...r }));
    for (const r of unique) {
      r.assigneeId = null;
      r.assignedAt = null;
    }
    const events = req.events(before);
    this.rows.set(req.campaignId, draft);
    this.record(events);
    return { kind: "released", conversations: before };
  }

  async recordStatus(change: StatusChange): Promise<StatusOutcome> {
    const draft = copy(this.rows.get(change.campaignId) ?? []);
    const r = draft.find((x) => x.id === change.conversationId);
    if (!r) return { kind: "not_found" };
    const before = { ...r };
    if (!change.allowedFrom.includes(r.status)) return { kind: "invalid", current: before };
    r.replyAt = change.to === "needs_reply" ? (r.status === "needs_reply" ? r.replyAt : change.now) : null;
    r.status = change.to;
    const after = { ...r };
    const events = change.events(before, after);
    const finished = this.finishIfDone(this.campaigns.get(change.campaignId), draft, change.now);
    this.rows.set(change.campaignId, draft);
    if (finished) this.campaigns.set(change.campaignId, finished.state);
    this.record([...events, ...(finished?.events ?? [])]);
    return { kind: "changed", before, after };
  }

  async optOut(req: OptOutRequest): Promise<OptOutOutcome> {
    const drafts = new Map<string, Row[]>();
    const before: Conversation[] = [];
    for (const c of this.campaigns.values()) {
      if (c.orgId !== req.orgId) continue;
      const draft = copy(this.rows.get(c.id)!);
      for (const r of draft) {
        if (r.contactId !== req.contactId || r.status === "opted_out") continue;
        before.push({ ...r });
        r.status = "opted_out";
        r.replyAt = null;
      }
      drafts.set(c.id, draft);
    }
    const alreadyOptedOut = this.optOuts.get(req.orgId)?.has(req.contactId) === true;
    const events = req.events(before, alreadyOptedOut);
    const finished = [...drafts].flatMap(([id, draft]) => {
      const f = this.finishIfDone(this.campaigns.get(id), draft, req.now);
      return f === null ? [] : [f];
    });
    for (const [id, draft] of drafts) this.rows.set(id, draft);
    for (const f of finished) this.campaigns.set(f.state.id, f.state);
    const set = this.optOuts.get(req.orgId) ?? new Set<string>();
    set.add(req.contactId);
    this.optOuts.set(req.orgId, set);
    this.record([...events, ...finished.flatMap((f) => f.events)]);
    return { changed: before, alreadyOptedOut };
  }

  async getConversation(id: string) {
    for (const rows of this.rows.values()) {
      const r = rows.find((x) => x.id === id);
      if (r) return { ...r };
    }
    return null;
  }
  async listConversations(q: ListQuery) {
    return (this.rows.get(q.campaignId) ?? [])
      .filter((r) => r.assigneeId === q.holderId && matches(q.statuses, r))
      .sort(byHandOut)
      .slice(0, q.limit)
      .map((r) => ({ ...r }));
  }
  async overview(campaignId: string): Promise<ConversationsOverview> {
    const rows = this.rows.get(campaignId) ?? [];
    const counted = rows.filter((r) => r.status !== "opted_out"); // opted out: in the total only (O3, A1)
    const un = counted.filter((r) => r.assigneeId === null);
    const holders = [...new Set(counted.map((r) => r.assigneeId).filter((h): h is string => h !== null))];
    return {
      campaignId,
      total: rows.length,
      unassigned: un.length,
      unassignedNotStarted: un.filter((r) => r.status === "not_started").length,
      unassignedNeedsReply: un.filter((r) => r.status === "needs_reply").length,
      byStatus: Object.fromEntries(CONVERSATION_STATUSES.map((s) => [s, rows.filter((r) => r.status === s).length])) as ConversationsOverview["byStatus"],
      senders: holders.map((userId) => {
        const mine = counted.filter((r) => r.assigneeId === userId);
        return {
          userId,
          held: mine.length,
          notStarted: mine.filter((r) => r.status === "not_started").length,
          needsReply: mine.filter((r) => r.status === "needs_reply").length,
        };
      }),
    };
  }
  async leaseInitialSends(req: LeaseRequest) {
    if (this.campaigns.get(req.campaignId)?.status !== "bulk_sending") return { conversations: [], closedZones: [] };
    const free = (this.rows.get(req.campaignId) ?? []).filter((r) => r.status === "not_started" && (this.leases.get(r.id)?.until ?? -Infinity) <= req.now);
    const open = (r: Row) => r.contactTimeZone === null || req.contactZoneOpen === null || req.contactZoneOpen(r.contactTimeZone);
    const rows = free.filter(open).slice(0, req.limit);
    for (const r of rows) this.leases.set(r.id, { owner: req.workerId, until: req.now + req.leaseMs });
    const closedZones = [...new Set(free.filter((r) => !open(r)).map((r) => r.contactTimeZone!))].sort();
    return { conversations: rows.map((r) => ({ ...r })), closedZones };
  }

  async acknowledgeInitialSends(req: AcknowledgeRequest): Promise<AcknowledgeOutcome> {
    const draft = copy(this.rows.get(req.campaignId) ?? []);
    const sent: Conversation[] = [];
    const rejected: string[] = [];
    for (const id of new Set(req.conversationIds)) {
      const r = draft.find((x) => x.id === id);
      if (!r || r.status !== "not_started" || this.leases.get(id)?.owner !== req.workerId) {
        rejected.push(id);
        continue;
      }
      sent.push({ ...r });
      r.status = "initial_sent";
    }
    const events = req.events(sent);
    const finished = sent.length > 0 ? this.finishIfDone(this.campaigns.get(req.campaignId), draft, req.now) : null;
    this.rows.set(req.campaignId, draft);
    if (finished) this.campaigns.set(req.campaignId, finished.state);
    for (const c of sent) this.leases.delete(c.id);
    this.record([...events, ...(finished?.events ?? [])]);
    return { sent, rejected, pending: draft.filter((r) => r.status === "not_started").length, finished: finished !== null };
  }

  async releaseStale(req: StaleReleaseRequest) {
    const draft = copy(this.rows.get(req.campaignId) ?? []);
    const stale = draft.filter(
      (r) =>
        r.assigneeId !== null &&
        ((r.status === "not_started" && req.notStartedBefore !== null && r.assignedAt! < req.notStartedBefore) ||
          (r.status === "needs_reply" && req.needsReplyBefore !== null && Math.max(r.assignedAt!, r.replyAt!) < req.needsReplyBefore)),
    );
    const before = stale.map((r) => ({ ...r }));
    for (const r of stale) {
      r.assigneeId = null;
      r.assignedAt = null;
    }
    const events = req.events(before);
    this.rows.set(req.campaignId, draft);
    this.record(events);
    return before;
  }

  async readEvents(after: number, limit: number) {
    return this.log.filter((e) => e.seq > after).slice(0, limit);
  }
}

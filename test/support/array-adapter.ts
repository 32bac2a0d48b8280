/**
 * The smallest correct storage adapter: the twelve required methods of the contract over plain arrays
 * and maps, no optional methods, no capabilities. It passes the conformance suite's core groups
 * (methods, model, races, atomicity, rosters) and is the example of docs/custom-adapter.md.
 *
 * How it stays correct:
 * - Atomic steps: no method awaits anything, so each runs from start to end before any other call
 *   starts (one JavaScript turn). Nothing can interleave with a claim, a join or a pause.
 * - All or nothing: each write works on copies, builds its facts, and only then stores the copies and
 *   appends the facts. Building facts is the last thing that can fail; a failure leaves nothing behind.
 * - Shared rules come from `selfassign/adapter` (the claim's gate and cap, hand-out order, the reply
 *   time, cursors, fact builders), never re-written here.
 *
 * The protected hooks (`draft`, `pool`, `handOut`, `move`, the maps) let `broken-adapters.ts` get one
 * thing wrong each.
 */
import {
  type Campaign,
  type CampaignCommit,
  type CampaignOutcome,
  type ClaimOutcome,
  type ClaimRequest,
  type Conversation,
  type ConversationChangeResult,
  type ConversationPage,
  type ConversationQuery,
  type ConversationUpdate,
  type CoreStorage,
  type Fact,
  type FactQuery,
  type FactRecord,
  type ImportOutcome,
  type ImportRequest,
  type Member,
  type MoveSpec,
  type Moved,
  type OptOutOutcome,
  type OptOutRequest,
  type Organization,
  type OrganizationCommit,
  type OrganizationOutcome,
  type RosterPage,
  type RosterQuery,
  type Sender,
  type UpdateOutcome,
  claimFacts,
  claimRoom,
  compareHandOut,
  conversationId,
  cursorOf,
  handOutRank,
  importedFacts,
  inStatusSet,
  isAfter,
  memberFacts,
  movedFacts,
  optOutFacts,
  parseCursor,
  replyAtAfter,
  senderFacts,
  updateFacts,
} from "../../src/adapter.js";
import type { InspectedConversation } from "../../src/testing.js";

/** A stored conversation (mutable copies only ever live inside one step). */
export type Row = { -readonly [K in keyof Conversation]: Conversation[K] };
/** A roster row with its position, so a page cursor survives removals. */
type Listed<R> = { readonly n: number; readonly row: R };

export class ArrayAdapter implements CoreStorage {
  // Maps, not plain objects: ids are data ("__proto__" is a fine user id).
  protected orgs = new Map<string, Organization>();
  protected members = new Map<string, Listed<Member>[]>(); // by organization, in the order added
  protected campaigns = new Map<string, Campaign>();
  protected senders = new Map<string, Listed<Sender>[]>(); // by campaign, in the order added
  protected rows = new Map<string, Row[]>(); // conversations by campaign, in import order
  protected optOuts = new Map<string, Set<string>>(); // opted-out contacts by organization (O3)
  protected keys = new Map<string, readonly Conversation[]>(); // idempotency keys (S8)
  protected log: FactRecord[] = [];
  private listed = 0;

  /** The independent reader for the conformance suite: the stored rows as they are. */
  inspect(campaignId: string): InspectedConversation[] {
    return (this.rows.get(campaignId) ?? []).map((r) => ({ id: r.id, contactId: r.contactId, holder: r.assigneeId, status: r.status }));
  }

  protected append(facts: readonly Fact[]): void {
    for (const f of facts) this.log.push({ ...f, seq: this.log.length + 1 } as FactRecord);
  }

  protected list<R>(row: R): Listed<R> {
    return { n: ++this.listed, row };
  }

  /** The copies a write works on (stored only once the step cannot fail any more). Hook for the broken variants. */
  protected draft(campaignId: string): Row[] {
    return (this.rows.get(campaignId) ?? []).map((r) => ({ ...r }));
  }

  // ------------------------------------------------------------------ aggregates and rosters

  async getOrganization(orgId: string): Promise<Organization | null> {
    return this.orgs.get(orgId) ?? null;
  }

  async getCampaign(campaignId: string): Promise<Campaign | null> {
    return this.campaigns.get(campaignId) ?? null;
  }

  async findCampaignByToken(token: string): Promise<string | null> {
    for (const c of this.campaigns.values()) if (c.invite.token === token || c.invite.revokedTokens.includes(token)) return c.id;
    return null;
  }

  async readRoster(query: RosterQuery): Promise<RosterPage> {
    const all: readonly Listed<Member | Sender>[] = (query.roster === "members" ? this.members.get(query.orgId) : this.senders.get(query.campaignId)) ?? [];
    const after = query.after == null ? 0 : Number(query.after); // a cursor is a row's position
    const wanted = query.userIds === undefined ? null : new Set(query.userIds);
    const rows = all.filter((l) => l.n > after && (wanted === null || wanted.has(l.row.userId)));
    const page = rows.slice(0, query.limit);
    return { rows: page.map((l) => l.row), cursor: rows.length > page.length ? String(page[page.length - 1]!.n) : null };
  }

  async commitOrganization(commit: OrganizationCommit): Promise<OrganizationOutcome> {
    const stored = this.orgs.get(commit.orgId);
    const inserting = commit.next !== null && commit.expectedVersion === null;
    if (inserting && stored !== undefined) return { kind: "exists" };
    // A new aggregate is checked against its version; a member change only needs the organization.
    if (!inserting && (stored === undefined || (commit.next !== null && stored.version !== commit.expectedVersion))) return { kind: "conflict" };
    const roster = [...(this.members.get(commit.orgId) ?? [])];
    const added: string[] = [];
    const existing: string[] = [];
    let before: Member | null = null;
    const change = commit.members;
    if (change?.kind === "add") {
      for (const m of change.members) {
        if (roster.some((l) => l.row.userId === m.userId)) existing.push(m.userId);
        else {
          roster.push(this.list({ userId: m.userId, role: m.role, addedAt: commit.context.at }));
          added.push(m.userId);
        }
      }
    } else if (change !== null) {
      const at = roster.findIndex((l) => l.row.userId === change.userId);
      if (at < 0) return { kind: "refused", reason: "not_a_member", campaignIds: [] };
      before = roster[at]!.row;
      const owners = roster.filter((l) => l.row.role === "owner").length;
      const demotes = before.role === "owner" && (change.kind === "remove" || change.role !== "owner");
      if (demotes && owners === 1) return { kind: "refused", reason: "last_owner", campaignIds: [] };
      if (change.kind === "remove") {
        const busy = [...this.campaigns.values()]
          .filter((c) => c.orgId === commit.orgId && c.status !== "archived" && (this.senders.get(c.id) ?? []).some((l) => l.row.userId === change.userId))
          .map((c) => c.id);
        if (busy.length > 0) return { kind: "refused", reason: "a_sender", campaignIds: busy };
        roster.splice(at, 1);
      } else {
        roster[at] = { n: roster[at]!.n, row: { ...before, role: change.role } };
      }
    }
    const facts = [...commit.facts, ...(change === null ? [] : memberFacts(commit.context, change, { added, before }))];
    // Nothing can fail from here on: store the step.
    if (commit.next !== null) this.orgs.set(commit.orgId, commit.next);
    this.members.set(commit.orgId, roster);
    this.append(facts);
    return { kind: "committed", added, existing, before };
  }

  async commitCampaign(commit: CampaignCommit): Promise<CampaignOutcome> {
    const stored = this.campaigns.get(commit.campaignId);
    if (commit.expectedVersion === null && stored !== undefined) return { kind: "exists" };
    if (commit.expectedVersion !== null && stored?.version !== commit.expectedVersion) return { kind: "conflict" };
    const campaign = commit.next ?? stored!;
    const roster = [...(this.senders.get(commit.campaignId) ?? [])];
    const added: string[] = [];
    const change = commit.senders;
    if (change?.kind === "add") {
      const members = this.members.get(campaign.orgId) ?? [];
      const strangers = change.userIds.filter((u) => !members.some((l) => l.row.userId === u));
      if (strangers.length > 0) return { kind: "refused", reason: "not_members", userIds: strangers };
      for (const userId of change.userIds) {
        if (roster.some((l) => l.row.userId === userId)) continue;
        roster.push(this.list({ userId, addedAt: commit.now, via: change.via }));
        added.push(userId);
      }
    } else if (change?.kind === "remove") {
      const at = roster.findIndex((l) => l.row.userId === change.userId);
      if (at < 0) return { kind: "refused", reason: "not_senders", userIds: [change.userId] };
      roster.splice(at, 1);
    }
    const senderIds = roster.map((l) => l.row.userId);
    const notSenders = commit.moves.flatMap((m) => (Array.isArray(m.to) ? m.to.filter((u) => !senderIds.includes(u)) : []));
    if (notSenders.length > 0) return { kind: "refused", reason: "not_senders", userIds: [...new Set(notSenders)] };
    const rows = this.draft(commit.campaignId);
    const moved = commit.moves.map((m) => this.move(rows, m, m.to === "senders" ? senderIds : m.to, commit.now));
    const facts = [
      ...commit.facts,
      ...(change?.kind === "add" ? senderFacts(commit.context, added, change.via) : []),
      ...commit.moves.flatMap((m, i) => movedFacts(commit.context, m, moved[i]!)),
    ];
    this.campaigns.set(commit.campaignId, campaign);
    this.senders.set(commit.campaignId, roster);
    this.rows.set(commit.campaignId, rows);
    this.append(facts);
    return { kind: "committed", campaign, added, moved };
  }

  /** One move on `rows` (copies): pick in hand-out order, deal round-robin to `to`, or unassign. */
  protected move(rows: Row[], move: MoveSpec, to: readonly string[] | null, now: number): Moved[] {
    if (to !== null && to.length === 0) return [];
    const from = move.from;
    const picked = this.handOut(
      rows.filter(
        (r) =>
          inStatusSet(move.statuses, r.status) &&
          (from.kind === "unassigned" ? r.assigneeId === null && to !== null : from.kind === "all_holders" ? r.assigneeId !== null : r.assigneeId !== null && from.holderIds.includes(r.assigneeId)),
      ),
    ).slice(0, move.limit ?? undefined);
    return picked.map((r, i) => {
      const fromHolder = r.assigneeId;
      const target = to === null ? null : to[i % to.length]!;
      if (target !== fromHolder) {
        r.assigneeId = target;
        r.assignedAt = target === null ? null : now;
      }
      return { conversation: { ...r }, fromHolder };
    });
  }

  // ------------------------------------------------------------------ the conversation pool

  async importConversations(req: ImportRequest): Promise<ImportOutcome> {
    const campaign = this.campaigns.get(req.campaignId);
    if (campaign === undefined || campaign.version !== req.expectedVersion) return { kind: "conflict" };
    const rows = this.draft(req.campaignId);
    const byContact = new Map(rows.map((r) => [r.contactId, r.id]));
    const optedOut = this.optOuts.get(campaign.orgId);
    const ids: { contactId: string; conversationId: string; created: boolean }[] = [];
    let created = 0;
    for (const c of req.contacts) {
      let id = byContact.get(c.contactId);
      const isNew = id === undefined;
      if (id === undefined) {
        const seq = rows.length;
        id = conversationId(req.campaignId, seq);
        const status = optedOut?.has(c.contactId) === true ? "opted_out" : "not_started";
        rows.push({ id, campaignId: req.campaignId, contactId: c.contactId, status, assigneeId: null, assignedAt: null, replyAt: null, contactTimeZone: c.timeZone ?? null, seq });
        byContact.set(c.contactId, id);
        created++;
      }
      if (req.returnIds) ids.push({ contactId: c.contactId, conversationId: id, created: isNew });
    }
    const counts = { created, skipped: req.contacts.length - created };
    const facts = importedFacts(req.context, counts);
    this.rows.set(req.campaignId, rows);
    this.append(facts);
    return { kind: "imported", ...counts, ids };
  }

  /** The unassigned conversations a claim may take, best first (S4). Hook for the broken variants. */
  protected pool(rows: readonly Row[], ranks: readonly number[]): Row[] {
    return this.handOut(
      rows.filter((r) => {
        const rank = handOutRank(r.status); // null: closed or opted out, never handed out
        return r.assigneeId === null && rank !== null && ranks.includes(rank);
      }),
    );
  }

  /** Hand-out order (S4). Hook for the broken variants. */
  protected handOut(rows: Row[]): Row[] {
    return rows.sort(compareHandOut);
  }

  async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const campaign = this.campaigns.get(req.campaignId);
    if (campaign === undefined || campaign.version !== req.expectedVersion) return { kind: "conflict" };
    const key = req.idempotencyKey === null ? null : JSON.stringify([req.campaignId, req.texterId, req.idempotencyKey]);
    const replay = key === null ? undefined : this.keys.get(key);
    if (replay !== undefined) return { kind: "replayed", conversations: replay };
    // The texter's standing: a request needs a sender row, a join a member row (and adds the sender).
    const roster = [...(this.senders.get(req.campaignId) ?? [])];
    const isSender = roster.some((l) => l.row.userId === req.texterId);
    let joined = false;
    if (req.join === null && !isSender) return { kind: "refused", reason: "not_a_sender" };
    if (req.join !== null) {
      if (!(this.members.get(campaign.orgId) ?? []).some((l) => l.row.userId === req.texterId)) return { kind: "refused", reason: "not_a_member" };
      if (!isSender) {
        roster.push(this.list({ userId: req.texterId, addedAt: req.now, via: "invite" }));
        joined = true;
      }
    }
    // The gate and the cap (S5, S7, L3), on what the texter holds right now.
    const rows = this.draft(req.campaignId);
    const mine = rows.filter((r) => r.assigneeId === req.texterId);
    const room = claimRoom(req, {
      held: mine.length,
      notStarted: mine.filter((r) => r.status === "not_started").length,
      needsReply: mine.filter((r) => r.status === "needs_reply").length,
    });
    const claimed = room.kind === "room" ? this.pool(rows, req.ranks).slice(0, room.room) : [];
    for (const r of claimed) {
      r.assigneeId = req.texterId;
      r.assignedAt = req.now;
    }
    const conversations = claimed.map((r) => ({ ...r }));
    const facts = claimFacts(req.context, req.join, joined, req.texterId, conversations);
    this.senders.set(req.campaignId, roster);
    this.rows.set(req.campaignId, rows);
    if (key !== null && conversations.length > 0) this.keys.set(key, conversations);
    this.append(facts);
    return room.kind === "blocked" ? { kind: "blocked", reason: room.reason, joined } : { kind: "claimed", conversations, joined };
  }

  async updateConversations(update: ConversationUpdate): Promise<UpdateOutcome> {
    const rows = this.draft(update.campaignId);
    const results: ConversationChangeResult[] = update.changes.map((change) => {
      const r = rows.find((x) => x.id === change.conversationId);
      if (r === undefined) return { kind: "not_found" };
      const before: Conversation = { ...r };
      if (change.heldBy !== undefined && (change.heldBy === null ? r.assigneeId === null : r.assigneeId !== change.heldBy)) return { kind: "not_held", current: before };
      if (change.status !== undefined && !change.status.from.includes(r.status)) return { kind: "invalid", current: before };
      if (change.status !== undefined) {
        r.replyAt = replyAtAfter(r, change.status.to, update.now);
        r.status = change.status.to;
      }
      if (change.release === true) {
        r.assigneeId = null;
        r.assignedAt = null;
      }
      return { kind: "changed", before, after: { ...r } };
    });
    const applied = !update.atomic || results.every((x) => x.kind === "changed");
    if (!applied) return { applied, results };
    const changed = results.flatMap((x) => (x.kind === "changed" ? [x] : []));
    const facts = updateFacts(update.context, update.releaseReason, changed);
    this.rows.set(update.campaignId, rows);
    this.append(facts);
    return { applied, results };
  }

  async optOut(req: OptOutRequest): Promise<OptOutOutcome> {
    const alreadyOptedOut = this.optOuts.get(req.orgId)?.has(req.contactId) === true;
    const changedRows = new Map<string, Row[]>();
    const changed: Conversation[] = [];
    for (const c of this.campaigns.values()) {
      if (c.orgId !== req.orgId) continue;
      const rows = this.draft(c.id);
      for (const r of rows) {
        if (r.contactId !== req.contactId || r.status === "opted_out") continue;
        changed.push({ ...r });
        r.status = "opted_out";
        r.replyAt = null;
      }
      changedRows.set(c.id, rows);
    }
    const facts = optOutFacts(req.context, req.contactId, changed, alreadyOptedOut);
    for (const [id, rows] of changedRows) this.rows.set(id, rows);
    this.optOuts.set(req.orgId, new Set(this.optOuts.get(req.orgId)).add(req.contactId));
    this.append(facts);
    return { changed, alreadyOptedOut };
  }

  async listConversations(q: ConversationQuery): Promise<ConversationPage> {
    const cursor = q.after == null ? null : parseCursor(q.after);
    if (q.after != null && cursor === null) return { rows: [], cursor: null };
    const rows = this.handOut(
      (this.rows.get(q.campaignId) ?? []).filter(
        (r) =>
          (q.holder === undefined || r.assigneeId === q.holder) &&
          inStatusSet(q.statuses, r.status) &&
          (q.status === undefined || r.status === q.status) &&
          (q.ids === undefined || q.ids.includes(r.id)) &&
          (q.contactIds === undefined || q.contactIds.includes(r.contactId)) &&
          (cursor === null || isAfter(r, cursor)),
      ),
    );
    const page = rows.slice(0, q.limit).map((r) => ({ ...r }));
    return { rows: page, cursor: rows.length > page.length ? cursorOf(page[page.length - 1]!) : null };
  }

  // ------------------------------------------------------------------ the fact log

  async readFacts(q: FactQuery): Promise<readonly FactRecord[]> {
    return this.log
      .filter((f) => f.seq > q.after && (q.orgId === undefined || f.orgId === q.orgId) && (q.campaignId === undefined || f.campaignId === q.campaignId) && (q.types === undefined || q.types.includes(f.type)))
      .slice(0, q.limit);
  }
}

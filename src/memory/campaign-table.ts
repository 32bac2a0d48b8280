/**
 * The conversations of one campaign, held column-wise in typed arrays (a slot per conversation, in
 * import order), with a bucket heap per hand-out rank (S4) over the unassigned slots so a claim
 * costs O(batch · log pool), and counters per holder and status so the overview, the gate and the
 * cap cost O(1). Every mutation can be journaled so a failed step is rolled back (I8).
 * @module
 */
import type { StatusSet } from "../core/moves.js";
import { handOutRank } from "../core/policy.js";
import { conversationId, inStatusSet, orderRank, ranksOf, statusCode } from "../storage/rules.js";
import type { Conversation, ConversationStatus } from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import { type Bucket, PoolBuckets } from "./pool-buckets.js";
import { HeldLists } from "./held-lists.js";
import { Journal } from "./journal.js";
import { LeaseBook } from "./lease-book.js";

const NONE = -1;
const RANK_BY_CODE = CONVERSATION_STATUSES.map((s) => handOutRank(s));
/** Sort rank for listings and moves (see `orderRank`), by status code. */
const ORDER_BY_CODE = CONVERSATION_STATUSES.map((s) => orderRank(s));
const NOT_STARTED = statusCode("not_started");
const NEEDS_REPLY = statusCode("needs_reply");
const UNDO_CLOSURE = 0;
const UNDO_HOLDER = 1;
const UNDO_STATUS = 2;
const UNDO_TAKE = 3;

/** The conversations of one campaign. */
export class CampaignTable {
  /** Number of conversations. */
  size = 0;
  private capacity = 0;
  private contactIds: string[] = [];
  private status = new Uint8Array(0);
  private holder = new Int32Array(0);
  private replyAt = new Float64Array(0);
  private assignedAt = new Float64Array(0);
  private tz = new Int32Array(0);
  /** Bulk-send leases (C6). */
  readonly leases: LeaseBook = new LeaseBook({
    isPending: (slot) => this.status[slot] === NOT_STARTED,
    zoneKey: (slot) => this.tz[slot]! + 1,
    zoneName: (key) => this.tzNames[key - 1]!,
    record: (undo) => this.record(undo),
  });
  private readonly tzNames: string[] = [];
  private readonly tzIndex = new Map<string, number>();
  private readonly bySlotContact = new Map<string, number>();
  private readonly holderIds: string[] = [];
  private readonly holderIndex = new Map<string, number>();
  private readonly held = new HeldLists();
  private readonly holderCounts: Int32Array[] = [];
  private readonly unassignedCounts = new Int32Array(CONVERSATION_STATUSES.length);
  /** The unassigned pool (S4, T2). */
  private readonly pool = new PoolBuckets((slot) => this.holder[slot] === NONE);
  /**
   * Undo records of the current step, or `null` when not journaling: four numbers each — an op and
   * its arguments — so the hot writes allocate nothing; rarer ones keep a closure in `undos`.
   */
  private journal: Journal | null = null;
  private readonly buffer = new Journal();
  private undos: (() => void)[] = [];
  /** The buffer `takeFromPool` gathers slots in. */
  private taken = new Int32Array(1024);

  constructor(readonly campaignId: string) {}

  // ------------------------------------------------------------------ ids and snapshots

  /** The conversation id of a slot. */
  idOf(slot: number): string {
    return conversationId(this.campaignId, slot);
  }

  /** The slot of a conversation id of this campaign (`<campaignId>:<seq>`), or -1. Allocates nothing. */
  slotOf(id: string): number {
    const n = this.campaignId.length;
    if (id.length <= n + 1 || id.length > n + 16 || id.charCodeAt(n) !== 58 /* ':' */ || !id.startsWith(this.campaignId)) return NONE;
    let slot = 0;
    for (let i = n + 1; i < id.length; i++) {
      const d = id.charCodeAt(i) - 48;
      if (d < 0 || d > 9 || (d === 0 && i === n + 1 && id.length > n + 2)) return NONE;
      slot = slot * 10 + d;
    }
    return slot < this.size ? slot : NONE;
  }

  /** The slot of a contact, or -1. */
  slotOfContact(contactId: string): number {
    return this.bySlotContact.get(contactId) ?? NONE;
  }

  /** The holder id of a slot, or `null`. */
  holderOf(slot: number): string | null {
    const h = this.holder[slot]!;
    return h === NONE ? null : this.holderIds[h]!;
  }

  /** The status of a slot. */
  statusOf(slot: number): ConversationStatus {
    return CONVERSATION_STATUSES[this.status[slot]!]!;
  }

  /** A snapshot of one conversation (`id`, when the caller has the canonical id string already, is reused). */
  conversation(slot: number, id: string = this.idOf(slot)): Conversation {
    const h = this.holder[slot]!;
    const reply = this.replyAt[slot]!;
    const assigned = this.assignedAt[slot]!;
    const tz = this.tz[slot]!;
    return {
      id,
      campaignId: this.campaignId,
      contactId: this.contactIds[slot]!,
      status: CONVERSATION_STATUSES[this.status[slot]!]!,
      assigneeId: h === NONE ? null : this.holderIds[h]!,
      assignedAt: Number.isNaN(assigned) ? null : assigned,
      replyAt: Number.isNaN(reply) ? null : reply,
      contactTimeZone: tz === NONE ? null : this.tzNames[tz]!,
      seq: slot,
    };
  }

  // ------------------------------------------------------------------ transactions

  /** Run `step` atomically: if it throws, every mutation it made is undone. */
  atomically<T>(step: () => T): T {
    if (this.journal !== null) return step();
    const journal = this.buffer;
    journal.length = 0;
    this.journal = journal;
    this.undos = [];
    try {
      const result = step();
      this.journal = null;
      return result;
    } catch (error) {
      this.journal = null;
      journal.rollback((op, a, b, c) => this.undo(op, a, b, c));
      throw error;
    }
  }

  private undo(op: number, a: number, b: number, c: number): void {
    switch (op) {
      case UNDO_CLOSURE:
        return this.undos[a]!();
      case UNDO_HOLDER:
        this.setHolderIndex(a, b, c);
        this.assignedAt[a] = c;
        return;
      case UNDO_STATUS:
        return this.setStatusCode(a, b, c);
      case UNDO_TAKE:
        return this.pool.restore(a, b, c, this.status[a] === NEEDS_REPLY ? this.replyAt[a]! : a);
    }
  }

  private record(undo: () => void): void {
    if (this.journal === null) return;
    this.journal.push(UNDO_CLOSURE, this.undos.length, 0, 0);
    this.undos.push(undo);
  }

  // ------------------------------------------------------------------ writes

  /** Append a conversation (import). Returns its slot. */
  append(contactId: string, timeZone: string | null, status: ConversationStatus): number {
    if (this.size === this.capacity) this.grow(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    const slot = this.size++;
    this.contactIds[slot] = contactId;
    this.bySlotContact.set(contactId, slot);
    const code = statusCode(status);
    this.status[slot] = code;
    this.holder[slot] = NONE;
    this.replyAt[slot] = NaN;
    this.assignedAt[slot] = NaN;
    this.pool.epoch[slot] = 0;
    this.tz[slot] = timeZone === null ? NONE : this.internTz(timeZone);
    this.unassignedCounts[code]! += 1;
    this.enterPool(slot);
    if (status === "not_started") this.leases.added(slot);
    this.record(() => this.removeLast());
    return slot;
  }

  /** Make room for `extra` more conversations at once (avoids repeated growth on big imports). */
  reserve(extra: number): void {
    if (this.size + extra > this.capacity) this.grow(this.size + extra);
  }

  private removeLast(): void {
    const slot = this.size - 1;
    this.leases.removed(slot);
    const code = this.status[slot]!;
    if (this.holder[slot] !== NONE) this.setHolder(slot, null, NaN);
    this.unassignedCounts[code]! -= 1;
    this.leavePool(slot);
    this.bySlotContact.delete(this.contactIds[slot]!);
    this.contactIds.length = slot;
    this.size = slot;
  }

  /** Give a slot to a holder, or make it unassigned (`null`). */
  setHolder(slot: number, holderId: string | null, now: number): void {
    this.setHolderIndex(slot, holderId === null ? NONE : this.internHolder(holderId), now);
  }

  private setHolderIndex(slot: number, after: number, now: number): void {
    const before = this.holder[slot]!;
    if (before === after) return;
    const previousAssignedAt = this.assignedAt[slot]!;
    const code = this.status[slot]!;
    if (before === NONE) {
      this.unassignedCounts[code]! -= 1;
      this.leavePool(slot);
    } else {
      this.holderCounts[before]![code]! -= 1;
      this.held.unlink(before, slot);
    }
    this.holder[slot] = after;
    if (after === NONE) {
      this.assignedAt[slot] = NaN;
      this.unassignedCounts[code]! += 1;
      this.enterPool(slot);
    } else {
      this.assignedAt[slot] = now;
      this.holderCounts[after]![code]! += 1;
      this.held.link(after, slot);
    }
    this.journal?.push(UNDO_HOLDER, slot, before, previousAssignedAt);
  }

  /** Change a slot's status; `replyAt` is kept for `needs_reply` and cleared otherwise. */
  setStatus(slot: number, status: ConversationStatus, replyAt: number): void {
    this.setStatusCode(slot, statusCode(status), replyAt);
  }

  private setStatusCode(slot: number, after: number, replyAt: number): void {
    const before = this.status[slot]!;
    const previousReplyAt = this.replyAt[slot]!;
    const h = this.holder[slot]!;
    const counts = h === NONE ? this.unassignedCounts : this.holderCounts[h]!;
    counts[before]! -= 1;
    counts[after]! += 1;
    if (h === NONE) this.leavePool(slot);
    this.status[slot] = after;
    this.replyAt[slot] = after === NEEDS_REPLY ? replyAt : NaN;
    if (h === NONE) this.enterPool(slot);
    this.journal?.push(UNDO_STATUS, slot, before, previousReplyAt);
  }

  // ------------------------------------------------------------------ the pool

  private bucketId(slot: number, rank: number): number {
    return rank === 0 ? 0 : rank === 2 ? 1 : 2 + (this.tz[slot]! + 1);
  }

  private enterPool(slot: number): void {
    const rank = RANK_BY_CODE[this.status[slot]!];
    if (rank !== null && rank !== undefined) this.pool.enter(slot, this.bucketId(slot, rank), rank === 0 ? this.replyAt[slot]! : slot);
  }

  private leavePool(slot: number): void {
    const rank = RANK_BY_CODE[this.status[slot]!];
    if (rank !== null && rank !== undefined) this.pool.leave(slot, this.bucketId(slot, rank));
  }

  /**
   * Take up to `limit` unassigned slots of the given ranks, best first (S4), without assigning them.
   * Not-started slots whose contact time zone fails `zoneAllowed` stay where they are (T2); those of
   * unknown zone always qualify. O(taken · (log pool + zones)). The caller must assign every slot
   * returned (or the step must fail and roll back). The slots come in a typed array of exactly their
   * number, gathered in a buffer the table reuses, so a claim allocates no growing array (issue 12).
   */
  takeFromPool(ranks: readonly number[], limit: number, zoneAllowed?: (zone: string) => boolean): Int32Array {
    let n = 0;
    const take = (b: Bucket) => {
      const slot = b.heap.topSlot();
      this.journal?.push(UNDO_TAKE, slot, b.heap.topEpoch(), b.id);
      b.heap.pop();
      if (n === this.taken.length) {
        const bigger = new Int32Array(this.taken.length * 2);
        bigger.set(this.taken);
        this.taken = bigger;
      }
      this.taken[n++] = slot;
    };
    for (const rank of ranks) {
      if (rank !== 1) {
        const b = this.pool.bucket(rank === 0 ? 0 : 1);
        while (n < limit && this.pool.cleanTop(b)) take(b);
      } else {
        const open = this.pool.notStarted((id) => zoneAllowed === undefined || zoneAllowed(this.tzNames[id - 3]!));
        while (n < limit) {
          let best: Bucket | undefined;
          for (const b of open) {
            if (this.pool.cleanTop(b) && (best === undefined || b.heap.topSlot() < best.heap.topSlot())) best = b;
          }
          if (best === undefined) break;
          take(best);
        }
      }
      if (n >= limit) break;
    }
    return this.taken.slice(0, n);
  }

  /** Take unassigned slots matching `statuses` from the pool, in hand-out order, at most `limit` (for moves). */
  unassignedSlots(statuses: StatusSet, limit: number): number[] {
    return Array.from(this.takeFromPool(ranksOf(statuses), limit));
  }

  /** Slots held by the given holders matching `statuses`, in hand-out order. */
  heldSlots(holderIds: readonly string[] | "all", statuses: StatusSet): number[] {
    const indices =
      holderIds === "all"
        ? this.holderIds.map((_, i) => i)
        : holderIds.map((h) => this.holderIndex.get(h)).filter((i): i is number => i !== undefined);
    const slots: number[] = [];
    for (const h of indices) {
      this.held.forEach(h, (slot) => inStatusSet(statuses, CONVERSATION_STATUSES[this.status[slot]!]!) && slots.push(slot));
    }
    return this.sortHandOut(slots);
  }

  /** The status code of a slot. */
  codeOf(slot: number): number {
    return this.status[slot]!;
  }

  /** The reply time of a slot (NaN when none). */
  replyAtOf(slot: number): number {
    return this.replyAt[slot]!;
  }

  /** The listing ranks (see `orderRank`) some conversation of the campaign has. */
  presentRanks(): Set<number> {
    const present = new Set<number>();
    for (const counts of [this.unassignedCounts, ...this.holderCounts]) counts.forEach((n, code) => n > 0 && present.add(ORDER_BY_CODE[code]!));
    return present;
  }

  /** Sort slots in hand-out order (rank, reply time for needs reply, import order). */
  sortHandOut(slots: number[]): number[] {
    return slots.sort((a, b) => {
      const ra = ORDER_BY_CODE[this.status[a]!]!;
      const rb = ORDER_BY_CODE[this.status[b]!]!;
      if (ra !== rb) return ra - rb;
      if (ra === 0) {
        const d = this.replyAt[a]! - this.replyAt[b]!;
        if (d !== 0) return d;
      }
      return a - b;
    });
  }

  // ------------------------------------------------------------------ counts

  /** Conversations still `not_started`, held or not. */
  pendingCount(): number {
    let n = this.unassignedCounts[NOT_STARTED]!;
    for (const counts of this.holderCounts) n += counts[NOT_STARTED]!;
    return n;
  }

  /** Counts by status of one holder (or of the unassigned pool with `null`), indexed by status code. */
  countsOf(holderId: string | null): Int32Array {
    if (holderId === null) return this.unassignedCounts;
    const h = this.holderIndex.get(holderId);
    return h === undefined ? new Int32Array(CONVERSATION_STATUSES.length) : this.holderCounts[h]!;
  }

  /** Total held by a holder. */
  heldCount(holderId: string): number {
    const h = this.holderIndex.get(holderId);
    return h === undefined ? 0 : this.held.size(h);
  }

  /** T4: held slots idle since before their cutoff (see StaleReleaseRequest). */
  staleSlots(notStartedBefore: number | null, needsReplyBefore: number | null): number[] {
    const out: number[] = [];
    for (let h = 0; h < this.held.holders; h++) {
      this.held.forEach(h, (slot) => {
        const code = this.status[slot]!;
        const assigned = this.assignedAt[slot]!;
        if (code === NOT_STARTED ? notStartedBefore !== null && assigned < notStartedBefore : code === NEEDS_REPLY && needsReplyBefore !== null && Math.max(assigned, this.replyAt[slot]!) < needsReplyBefore) out.push(slot);
      });
    }
    return out.sort((a, b) => a - b);
  }

  /** Holder ids that hold at least one conversation, in first-seen order. */
  activeHolders(): string[] {
    return this.holderIds.filter((_, i) => this.held.size(i) > 0);
  }

  // ------------------------------------------------------------------ internals

  private internHolder(holderId: string): number {
    let h = this.holderIndex.get(holderId);
    if (h === undefined) {
      h = this.holderIds.length;
      this.holderIds.push(holderId);
      this.holderIndex.set(holderId, h);
      this.held.addHolder();
      this.holderCounts.push(new Int32Array(CONVERSATION_STATUSES.length));
    }
    return h;
  }

  private internTz(zone: string): number {
    let z = this.tzIndex.get(zone);
    if (z === undefined) {
      z = this.tzNames.length;
      this.tzNames.push(zone);
      this.tzIndex.set(zone, z);
    }
    return z;
  }

  private grow(capacity: number): void {
    const n = this.size;
    const copy = <T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(from: T, make: (len: number) => T): T => {
      const to = make(capacity);
      to.set(from.subarray(0, n) as never);
      return to;
    };
    this.status = copy(this.status, (l) => new Uint8Array(l));
    this.holder = copy(this.holder, (l) => new Int32Array(l));
    this.replyAt = copy(this.replyAt, (l) => new Float64Array(l));
    this.assignedAt = copy(this.assignedAt, (l) => new Float64Array(l));
    this.pool.grow(capacity, n);
    this.tz = copy(this.tz, (l) => new Int32Array(l));
    this.held.grow(capacity);
    this.capacity = capacity;
  }
}

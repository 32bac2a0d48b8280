/**
 * The conversations of one campaign, held column-wise in typed arrays (a slot per conversation, in
 * import order), with a bucket heap per hand-out rank (S4) over the unassigned slots so a claim
 * costs O(batch · log pool), and counters per holder and status so the overview, the gate and the
 * cap cost O(1). Every mutation can be journaled so a failed step is rolled back (I8).
 * @module
 */
import type { StatusSet } from "../core/moves.js";
import { handOutRank } from "../core/policy.js";
import { conversationId, inStatusSet, orderRank, parseConversationId, ranksOf, statusCode } from "../storage/rules.js";
import type { Conversation, ConversationStatus } from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import { IndexHeap } from "./index-heap.js";
import { LeaseBook } from "./lease-book.js";

const NONE = -1;
const RANK_BY_CODE = CONVERSATION_STATUSES.map((s) => handOutRank(s));
/** Sort rank for listings and moves (see `orderRank`), by status code. */
const ORDER_BY_CODE = CONVERSATION_STATUSES.map((s) => orderRank(s));
const NOT_STARTED = statusCode("not_started");

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
  private epoch = new Uint32Array(0);
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
  private readonly held: Set<number>[] = [];
  private readonly holderCounts: Int32Array[] = [];
  private readonly unassignedCounts = new Int32Array(CONVERSATION_STATUSES.length);
  /**
   * The unassigned pool, in buckets, each a heap with its count of live entries: bucket 0 = needs
   * reply (by reply time), 1 = the rest (by import order), 2 + k = not started with contact time zone
   * k − 1 (k = 0: unknown zone), by import order. Not-started work is split by zone so a claim can skip
   * the zones outside texting hours (T2) without scanning them.
   */
  private readonly buckets = new Map<number, { heap: IndexHeap; live: number }>();
  /** Undo actions of the current step, or `null` when not journaling. */
  private journal: (() => void)[] | null = null;

  constructor(readonly campaignId: string) {}

  // ------------------------------------------------------------------ ids and snapshots

  /** The conversation id of a slot. */
  idOf(slot: number): string {
    return conversationId(this.campaignId, slot);
  }

  /** The slot of a conversation id of this campaign, or -1. */
  slotOf(id: string): number {
    const key = parseConversationId(id);
    return key === null || key.campaignId !== this.campaignId || key.seq >= this.size ? NONE : key.seq;
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

  /** A snapshot of one conversation. */
  conversation(slot: number): Conversation {
    const h = this.holder[slot]!;
    const reply = this.replyAt[slot]!;
    const assigned = this.assignedAt[slot]!;
    const tz = this.tz[slot]!;
    return {
      id: this.idOf(slot),
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
    const journal: (() => void)[] = [];
    this.journal = journal;
    try {
      const result = step();
      this.journal = null;
      return result;
    } catch (error) {
      this.journal = null;
      for (let i = journal.length - 1; i >= 0; i--) journal[i]!();
      throw error;
    }
  }

  private record(undo: () => void): void {
    this.journal?.push(undo);
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
    this.epoch[slot] = 0;
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
    const before = this.holder[slot]!;
    const after = holderId === null ? NONE : this.internHolder(holderId);
    if (before === after) return;
    const previousAssignedAt = this.assignedAt[slot]!;
    const code = this.status[slot]!;
    if (before === NONE) {
      this.unassignedCounts[code]! -= 1;
      this.leavePool(slot);
    } else {
      this.holderCounts[before]![code]! -= 1;
      this.held[before]!.delete(slot);
    }
    this.holder[slot] = after;
    if (after === NONE) {
      this.assignedAt[slot] = NaN;
      this.unassignedCounts[code]! += 1;
      this.enterPool(slot);
    } else {
      this.assignedAt[slot] = now;
      this.holderCounts[after]![code]! += 1;
      this.held[after]!.add(slot);
    }
    this.record(() => {
      this.setHolder(slot, before === NONE ? null : this.holderIds[before]!, previousAssignedAt);
      this.assignedAt[slot] = previousAssignedAt;
    });
  }

  /** Change a slot's status; `replyAt` is kept for `needs_reply` and cleared otherwise. */
  setStatus(slot: number, status: ConversationStatus, replyAt: number): void {
    const before = this.status[slot]!;
    const previousReplyAt = this.replyAt[slot]!;
    const after = statusCode(status);
    const h = this.holder[slot]!;
    const counts = h === NONE ? this.unassignedCounts : this.holderCounts[h]!;
    counts[before]! -= 1;
    counts[after]! += 1;
    if (h === NONE) this.leavePool(slot);
    this.status[slot] = after;
    this.replyAt[slot] = status === "needs_reply" ? replyAt : NaN;
    if (h === NONE) this.enterPool(slot);
    this.record(() => this.setStatus(slot, CONVERSATION_STATUSES[before]!, previousReplyAt));
  }

  // ------------------------------------------------------------------ the pool

  private bucketId(slot: number, rank: number): number {
    return rank === 0 ? 0 : rank === 2 ? 1 : 2 + (this.tz[slot]! + 1);
  }

  private bucket(id: number): { heap: IndexHeap; live: number } {
    let b = this.buckets.get(id);
    if (b === undefined) this.buckets.set(id, (b = { heap: new IndexHeap(), live: 0 }));
    return b;
  }

  private enterPool(slot: number): void {
    const rank = RANK_BY_CODE[this.status[slot]!];
    if (rank === null || rank === undefined) return;
    const epoch = (this.epoch[slot]! + 1) >>> 0;
    this.epoch[slot] = epoch;
    const b = this.bucket(this.bucketId(slot, rank));
    b.heap.push(rank === 0 ? this.replyAt[slot]! : slot, slot, epoch);
    b.live += 1;
  }

  private leavePool(slot: number): void {
    const rank = RANK_BY_CODE[this.status[slot]!];
    if (rank === null || rank === undefined) return;
    this.epoch[slot] = (this.epoch[slot]! + 1) >>> 0;
    const b = this.bucket(this.bucketId(slot, rank));
    b.live -= 1;
    if (b.heap.size > 4096 && b.heap.size > 2 * b.live + 1024) {
      b.heap.compact((s, e) => this.holder[s] === NONE && this.epoch[s] === e);
    }
  }

  /** Drop stale entries from the top of a bucket; true when a live entry is on top. */
  private cleanTop(b: { heap: IndexHeap }): boolean {
    while (b.heap.size > 0) {
      const slot = b.heap.topSlot();
      if (this.holder[slot] === NONE && this.epoch[slot] === b.heap.topEpoch()) return true;
      b.heap.pop();
    }
    return false;
  }

  /**
   * Take up to `limit` unassigned slots of the given ranks, best first (S4), without assigning them.
   * Not-started slots whose contact time zone fails `zoneAllowed` stay where they are (T2); those of
   * unknown zone always qualify. O(taken · (log pool + zones)). The caller must assign every slot
   * returned (or the step must fail and roll back).
   */
  takeFromPool(ranks: readonly number[], limit: number, zoneAllowed?: (zone: string) => boolean): number[] {
    const taken: number[] = [];
    const take = (b: { heap: IndexHeap; live: number }) => {
      const slot = b.heap.topSlot();
      const epoch = b.heap.topEpoch();
      b.heap.pop();
      taken.push(slot);
      // A rollback puts the slot back in the pool with a fresh heap entry.
      this.record(() => {
        if (this.holder[slot] === NONE && this.epoch[slot] === epoch) {
          this.epoch[slot] = (epoch + 1) >>> 0;
          b.live -= 1;
          this.enterPool(slot);
        }
      });
    };
    for (const rank of ranks) {
      if (rank !== 1) {
        const b = this.bucket(rank === 0 ? 0 : 1);
        while (taken.length < limit && this.cleanTop(b)) take(b);
      } else {
        const open = [...this.buckets]
          .filter(([id]) => id >= 2 && (id === 2 || zoneAllowed === undefined || zoneAllowed(this.tzNames[id - 3]!)))
          .map(([, b]) => b);
        while (taken.length < limit) {
          let best: { heap: IndexHeap; live: number } | undefined;
          for (const b of open) {
            if (this.cleanTop(b) && (best === undefined || b.heap.topSlot() < best.heap.topSlot())) best = b;
          }
          if (best === undefined) break;
          take(best);
        }
      }
      if (taken.length >= limit) break;
    }
    return taken;
  }

  /** Take unassigned slots matching `statuses` from the pool, in hand-out order, at most `limit` (for moves). */
  unassignedSlots(statuses: StatusSet, limit: number): number[] {
    return this.takeFromPool(ranksOf(statuses), limit);
  }

  /** Slots held by the given holders matching `statuses`, in hand-out order. */
  heldSlots(holderIds: readonly string[] | "all", statuses: StatusSet): number[] {
    const indices =
      holderIds === "all"
        ? this.holderIds.map((_, i) => i)
        : holderIds.map((h) => this.holderIndex.get(h)).filter((i): i is number => i !== undefined);
    const slots: number[] = [];
    for (const h of indices) {
      for (const slot of this.held[h]!) if (inStatusSet(statuses, CONVERSATION_STATUSES[this.status[slot]!]!)) slots.push(slot);
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
    return h === undefined ? 0 : this.held[h]!.size;
  }

  /** T4: held slots idle since before their cutoff (see StaleReleaseRequest). */
  staleSlots(notStartedBefore: number | null, needsReplyBefore: number | null): number[] {
    const nr = statusCode("needs_reply");
    const out: number[] = [];
    for (const slots of this.held) {
      for (const slot of slots) {
        const code = this.status[slot]!;
        const assigned = this.assignedAt[slot]!;
        if (code === NOT_STARTED ? notStartedBefore !== null && assigned < notStartedBefore : code === nr && needsReplyBefore !== null && Math.max(assigned, this.replyAt[slot]!) < needsReplyBefore) out.push(slot);
      }
    }
    return out.sort((a, b) => a - b);
  }

  /** Holder ids that hold at least one conversation, in first-seen order. */
  activeHolders(): string[] {
    return this.holderIds.filter((_, i) => this.held[i]!.size > 0);
  }

  // ------------------------------------------------------------------ internals

  private internHolder(holderId: string): number {
    let h = this.holderIndex.get(holderId);
    if (h === undefined) {
      h = this.holderIds.length;
      this.holderIds.push(holderId);
      this.holderIndex.set(holderId, h);
      this.held.push(new Set());
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
    this.epoch = copy(this.epoch, (l) => new Uint32Array(l));
    this.tz = copy(this.tz, (l) => new Int32Array(l));
    this.capacity = capacity;
  }
}

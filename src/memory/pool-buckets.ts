/**
 * The unassigned pool of one campaign, in buckets, each a heap with its count of live entries: bucket
 * 0 = needs reply (by reply time), 1 = the rest (by import order), 2 + k = not started with contact
 * time zone k − 1 (k = 0: unknown zone), by import order. Not-started work is split by zone so a claim
 * can skip the zones outside texting hours (T2) without scanning them. Entries are invalidated lazily:
 * leaving the pool bumps the slot's epoch, and stale entries are dropped when they surface (or
 * compacted when they outnumber live ones).
 * @module
 */
import { IndexHeap } from "./index-heap.js";

/** A bucket: its id, its heap, and how many entries in it are live. */
export interface Bucket {
  /** The bucket id (see the module). */
  readonly id: number;
  /** Entries (key, slot, epoch). */
  readonly heap: IndexHeap;
  /** Live entries. */
  live: number;
}

/** The unassigned pool's buckets and each slot's epoch. */
export class PoolBuckets {
  private readonly buckets = new Map<number, Bucket>();
  /** Per slot: bumped on every entry and exit, so a heap entry is live only while it matches. */
  epoch = new Uint32Array(0);

  /** @param unassigned - whether a slot is unassigned now */
  constructor(private readonly unassigned: (slot: number) => boolean) {}

  /** Make room for slots below `capacity`. */
  grow(capacity: number, size: number): void {
    const epoch = new Uint32Array(capacity);
    epoch.set(this.epoch.subarray(0, size));
    this.epoch = epoch;
  }

  /** The bucket of an id, created when missing. */
  bucket(id: number): Bucket {
    let b = this.buckets.get(id);
    if (b === undefined) this.buckets.set(id, (b = { id, heap: new IndexHeap(), live: 0 }));
    return b;
  }

  /** A slot enters bucket `id` with sort key `key`. */
  enter(slot: number, id: number, key: number): void {
    const epoch = (this.epoch[slot]! + 1) >>> 0;
    this.epoch[slot] = epoch;
    const b = this.bucket(id);
    b.heap.push(key, slot, epoch);
    b.live += 1;
  }

  /** A slot leaves bucket `id`. */
  leave(slot: number, id: number): void {
    this.epoch[slot] = (this.epoch[slot]! + 1) >>> 0;
    const b = this.bucket(id);
    b.live -= 1;
    if (b.heap.size > 4096 && b.heap.size > 2 * b.live + 1024) b.heap.compact((s, e) => this.unassigned(s) && this.epoch[s] === e);
  }

  /** Drop stale entries from the top of a bucket; true when a live entry is on top. */
  cleanTop(b: Bucket): boolean {
    while (b.heap.size > 0) {
      if (this.unassigned(b.heap.topSlot()) && this.epoch[b.heap.topSlot()] === b.heap.topEpoch()) return true;
      b.heap.pop();
    }
    return false;
  }

  /** The not-started buckets (id ≥ 2) whose zone passes `open` (the unknown zone, id 2, always). */
  notStarted(open: (id: number) => boolean): Bucket[] {
    const out: Bucket[] = [];
    for (const [id, b] of this.buckets) if (id >= 2 && (id === 2 || open(id))) out.push(b);
    return out;
  }

  /** A taken slot goes back (a rolled-back claim): a fresh entry when it is still unassigned with that epoch. */
  restore(slot: number, epoch: number, id: number, key: number): void {
    if (!this.unassigned(slot) || this.epoch[slot] !== epoch) return;
    this.epoch[slot] = (epoch + 1) >>> 0;
    this.bucket(id).live -= 1;
    this.enter(slot, id, key);
  }
}

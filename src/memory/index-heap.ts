/**
 * A binary min-heap of conversation slots, ordered by (key, slot), stored in typed arrays (16 bytes
 * an entry). Entries are never removed from the middle: a slot that leaves the pool is invalidated
 * by bumping its epoch, and stale entries are skipped when they reach the top (lazy deletion) or
 * dropped by {@link IndexHeap.compact}.
 * @module
 */
export class IndexHeap {
  private keys = new Float64Array(16);
  private slots = new Int32Array(16);
  private epochs = new Uint32Array(16);
  /** Number of entries, stale ones included. */
  size = 0;

  /** Add an entry. */
  push(key: number, slot: number, epoch: number): void {
    if (this.size === this.keys.length) this.grow(this.size * 2);
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(key, slot, this.keys[parent]!, this.slots[parent]!)) break;
      this.move(parent, i);
      i = parent;
    }
    this.keys[i] = key;
    this.slots[i] = slot;
    this.epochs[i] = epoch;
  }

  /** Slot of the smallest entry (the heap must not be empty). */
  topSlot(): number {
    return this.slots[0]!;
  }

  /** Epoch of the smallest entry (the heap must not be empty). */
  topEpoch(): number {
    return this.epochs[0]!;
  }

  /** Remove the smallest entry. */
  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    const key = this.keys[last]!;
    const slot = this.slots[last]!;
    const epoch = this.epochs[last]!;
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      const right = child + 1;
      if (right < last && this.less(this.keys[right]!, this.slots[right]!, this.keys[child]!, this.slots[child]!)) {
        child = right;
      }
      if (!this.less(this.keys[child]!, this.slots[child]!, key, slot)) break;
      this.move(child, i);
      i = child;
    }
    this.keys[i] = key;
    this.slots[i] = slot;
    this.epochs[i] = epoch;
  }

  /** Keep only the entries for which `keep(slot, epoch)` is true, then restore heap order. O(size). */
  compact(keep: (slot: number, epoch: number) => boolean): void {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (keep(this.slots[i]!, this.epochs[i]!)) {
        this.keys[n] = this.keys[i]!;
        this.slots[n] = this.slots[i]!;
        this.epochs[n] = this.epochs[i]!;
        n++;
      }
    }
    this.size = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
    if (this.keys.length > 64 && n < this.keys.length / 4) this.grow(Math.max(16, n * 2));
  }

  private siftDown(start: number): void {
    const key = this.keys[start]!;
    const slot = this.slots[start]!;
    const epoch = this.epochs[start]!;
    let i = start;
    const half = this.size >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      const right = child + 1;
      if (right < this.size && this.less(this.keys[right]!, this.slots[right]!, this.keys[child]!, this.slots[child]!)) {
        child = right;
      }
      if (!this.less(this.keys[child]!, this.slots[child]!, key, slot)) break;
      this.move(child, i);
      i = child;
    }
    this.keys[i] = key;
    this.slots[i] = slot;
    this.epochs[i] = epoch;
  }

  private less(k1: number, s1: number, k2: number, s2: number): boolean {
    return k1 < k2 || (k1 === k2 && s1 < s2);
  }

  private move(from: number, to: number): void {
    this.keys[to] = this.keys[from]!;
    this.slots[to] = this.slots[from]!;
    this.epochs[to] = this.epochs[from]!;
  }

  private grow(capacity: number): void {
    const keys = new Float64Array(capacity);
    const slots = new Int32Array(capacity);
    const epochs = new Uint32Array(capacity);
    keys.set(this.keys.subarray(0, this.size));
    slots.set(this.slots.subarray(0, this.size));
    epochs.set(this.epochs.subarray(0, this.size));
    this.keys = keys;
    this.slots = slots;
    this.epochs = epochs;
  }
}

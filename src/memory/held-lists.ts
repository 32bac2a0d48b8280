/**
 * Which slots each holder holds, as intrusive doubly linked lists in typed arrays: adding, removing
 * and counting are O(1) and allocate nothing (a `Set` per holder churned garbage on every claim).
 * @module
 */

const NONE = -1;

/** Per holder (by index) the slots it holds. */
export class HeldLists {
  private readonly first: number[] = [];
  private readonly sizes: number[] = [];
  private next = new Int32Array(0);
  private prev = new Int32Array(0);

  /** A new holder index (the next one). */
  addHolder(): void {
    this.first.push(NONE);
    this.sizes.push(0);
  }

  /** How many holder indexes there are. */
  get holders(): number {
    return this.first.length;
  }

  /** Make room for slots below `capacity`. */
  grow(capacity: number): void {
    const next = new Int32Array(capacity);
    next.set(this.next.subarray(0, Math.min(this.next.length, capacity)));
    const prev = new Int32Array(capacity);
    prev.set(this.prev.subarray(0, Math.min(this.prev.length, capacity)));
    this.next = next;
    this.prev = prev;
  }

  /** Holder `h` now holds `slot`. */
  link(h: number, slot: number): void {
    const first = this.first[h]!;
    this.next[slot] = first;
    this.prev[slot] = NONE;
    if (first !== NONE) this.prev[first] = slot;
    this.first[h] = slot;
    this.sizes[h]! += 1;
  }

  /** Holder `h` no longer holds `slot`. */
  unlink(h: number, slot: number): void {
    const next = this.next[slot]!;
    const prev = this.prev[slot]!;
    if (prev === NONE) this.first[h] = next;
    else this.next[prev] = next;
    if (next !== NONE) this.prev[next] = prev;
    this.sizes[h]! -= 1;
  }

  /** How many slots holder `h` holds. */
  size(h: number): number {
    return this.sizes[h]!;
  }

  /** Call `visit` for each slot holder `h` holds. */
  forEach(h: number, visit: (slot: number) => void): void {
    for (let s = this.first[h]!; s !== NONE; s = this.next[s]!) visit(s);
  }
}

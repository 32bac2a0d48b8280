/**
 * Bulk-send leases of one campaign (C6): who holds a lease on which pending conversation until when,
 * and queues of the slots imported as pending, per contact zone, so a lease costs O(limit · zones +
 * leases out) and skips the zones outside texting hours (T2). Every change is journaled through the
 * table's `record`, so a failed step rolls it back.
 * @module
 */

/** What the lease book needs to know about the table's slots. */
export interface LeaseSlots {
  /** True while the slot waits for its initial message. */
  isPending(slot: number): boolean;
  /** The slot's contact zone key: 0 = unknown zone, k = zone index k − 1. */
  zoneKey(slot: number): number;
  /** The name of zone key k (k ≥ 1). */
  zoneName(key: number): string;
  /** Journal an undo action for the current step. */
  record(undo: () => void): void;
}

/** Pending slots of one zone in import order; every slot before `cursor` was leased or is no longer pending. */
interface Queue {
  readonly slots: number[];
  cursor: number;
}

/** The leases of one campaign. */
export class LeaseBook {
  private readonly leases = new Map<number, { readonly owner: string; readonly until: number }>();
  private readonly queues = new Map<number, Queue>();

  constructor(private readonly table: LeaseSlots) {}

  /** A slot imported as pending joins its zone's queue (call in slot order). */
  added(slot: number): void {
    const key = this.table.zoneKey(slot);
    let q = this.queues.get(key);
    if (q === undefined) this.queues.set(key, (q = { slots: [], cursor: 0 }));
    q.slots.push(slot);
  }

  /** The last slot added is gone again (an import rolled back). */
  removed(slot: number): void {
    const q = this.queues.get(this.table.zoneKey(slot));
    if (q !== undefined && q.slots[q.slots.length - 1] === slot) {
      q.slots.pop();
      q.cursor = Math.min(q.cursor, q.slots.length);
    }
  }

  private set(slot: number, lease: { owner: string; until: number } | null): void {
    const before = this.leases.get(slot);
    if (lease === null) this.leases.delete(slot);
    else this.leases.set(slot, lease);
    this.table.record(() => {
      if (before === undefined) this.leases.delete(slot);
      else this.leases.set(slot, before);
    });
  }

  /** The first slot of a queue still pending and never leased, or -1; moves the cursor past the rest. */
  private head(q: Queue): number {
    const start = q.cursor;
    while (q.cursor < q.slots.length) {
      const slot = q.slots[q.cursor]!;
      if (this.table.isPending(slot) && !this.leases.has(slot)) break;
      q.cursor++;
    }
    if (q.cursor !== start) this.table.record(() => (q.cursor = start));
    return q.cursor < q.slots.length ? q.slots[q.cursor]! : -1;
  }

  /**
   * Lease up to `limit` pending slots to `workerId` until `until`: first those whose lease expired (a
   * crashed worker's), then never-leased ones in import order, merged across the zones `zoneOpen`
   * allows (unknown zones always). Returns the slots in import order and the closed zones that still
   * have pending slots nobody holds a lease on.
   */
  lease(workerId: string, limit: number, now: number, until: number, zoneOpen: ((zone: string) => boolean) | null): { slots: number[]; closedZones: string[] } {
    const open = (key: number) => key === 0 || zoneOpen === null || zoneOpen(this.table.zoneName(key));
    const taken: number[] = [];
    const closed = new Set<number>();
    for (const [slot, lease] of [...this.leases]) {
      if (taken.length >= limit) break;
      if (!this.table.isPending(slot)) this.set(slot, null);
      else if (lease.until <= now) {
        const key = this.table.zoneKey(slot);
        if (!open(key)) closed.add(key);
        else {
          this.set(slot, { owner: workerId, until });
          taken.push(slot);
        }
      }
    }
    const queues: Queue[] = [];
    for (const [key, q] of this.queues) {
      if (open(key)) queues.push(q);
      else if (this.head(q) !== -1) closed.add(key);
    }
    while (taken.length < limit) {
      let best = -1;
      for (const q of queues) {
        const head = this.head(q);
        if (head !== -1 && (best === -1 || head < best)) best = head;
      }
      if (best === -1) break;
      this.set(best, { owner: workerId, until });
      taken.push(best);
    }
    return { slots: taken.sort((a, b) => a - b), closedZones: [...closed].map((key) => this.table.zoneName(key)).sort() };
  }

  /** True when the slot is pending and leased to this worker (even if the lease ran out, as long as nobody leased it since). */
  leasedTo(slot: number, workerId: string): boolean {
    return this.table.isPending(slot) && this.leases.get(slot)?.owner === workerId;
  }

  /** Clear a slot's lease. */
  clear(slot: number): void {
    if (this.leases.has(slot)) this.set(slot, null);
  }
}

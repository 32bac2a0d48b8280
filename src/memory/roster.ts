/**
 * A set of rows in the order they were added, keyed by user id: an organization's members or a
 * campaign's senders. Adding or removing touches one entry; pages are found by binary search on the
 * position, so reading a page costs O(log n + page), not O(n).
 * @module
 */

/** Rows keyed by user id, in insertion order, with positions for cursors. */
export class Roster<R extends { readonly userId: string }> {
  private entries: { readonly position: number; row: R | null }[] = [];
  private readonly index = new Map<string, { readonly position: number; row: R | null }>();
  private next = 1;
  private removed = 0;

  /** The row of a user, or `undefined`. */
  get(userId: string): R | undefined {
    return this.index.get(userId)?.row ?? undefined;
  }

  /** How many rows. */
  get size(): number {
    return this.index.size;
  }

  /** Add a row (the user must not be in the set); returns an undo. */
  add(row: R): () => void {
    const entry: { readonly position: number; row: R | null } = { position: this.next++, row };
    this.entries.push(entry);
    this.index.set(row.userId, entry);
    return () => {
      this.index.delete(row.userId);
      entry.row = null;
      this.removed++;
    };
  }

  /** Replace a user's row in place (keeping its position); returns an undo. */
  replace(row: R): () => void {
    const entry = this.index.get(row.userId)!;
    const before = entry.row!;
    entry.row = row;
    return () => void (entry.row = before);
  }

  /** Remove a user's row; returns an undo (which puts it back at its position). */
  remove(userId: string): () => void {
    const entry = this.index.get(userId)!;
    const before = entry.row!;
    entry.row = null;
    this.index.delete(userId);
    this.removed++;
    if (this.removed > 1024 && this.removed > this.entries.length / 2) this.compact();
    return () => {
      entry.row = before;
      this.index.set(userId, entry);
      if (!this.entries.includes(entry)) {
        this.entries.push(entry);
        this.entries.sort((a, b) => a.position - b.position);
      }
      this.removed--;
    };
  }

  private compact(): void {
    this.entries = this.entries.filter((e) => e.row !== null);
    this.removed = 0;
  }

  /** Up to `limit` rows after position `after` (0 = from the start), and the position of the last one when more follow. */
  page(after: number, limit: number): { rows: R[]; cursor: number | null } {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.position <= after) lo = mid + 1;
      else hi = mid;
    }
    const rows: R[] = [];
    let last = after;
    for (let i = lo; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.row === null) continue;
      if (rows.length === limit) return { rows, cursor: last };
      rows.push(e.row);
      last = e.position;
    }
    return { rows, cursor: null };
  }

  /** The rows of these users (those in the set), in the order they were added. */
  lookup(userIds: readonly string[]): R[] {
    return [...new Set(userIds)]
      .map((u) => this.index.get(u))
      .filter((e): e is { readonly position: number; row: R | null } => e !== undefined && e.row !== null)
      .sort((a, b) => a.position - b.position)
      .map((e) => e.row!);
  }

  /** Every row, in order. */
  all(): R[] {
    return this.page(0, Number.MAX_SAFE_INTEGER).rows;
  }
}

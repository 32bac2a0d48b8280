/**
 * The undo journal of a campaign table's atomic step.
 * @module
 */
/** Undo records, four numbers each, in one buffer reused by every step (so journaling allocates nothing). */
export class Journal {
  private data = new Float64Array(4096);
  /** Numbers in use. */
  length = 0;

  /** Record one undo: an op and its three arguments. */
  push(op: number, a: number, b: number, c: number): void {
    if (this.length + 4 > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = op;
    this.data[this.length++] = a;
    this.data[this.length++] = b;
    this.data[this.length++] = c;
  }

  /** Replay the records newest first. */
  rollback(undo: (op: number, a: number, b: number, c: number) => void): void {
    for (let i = this.length - 4; i >= 0; i -= 4) undo(this.data[i]!, this.data[i + 1]!, this.data[i + 2]!, this.data[i + 3]!);
    this.length = 0;
  }
}

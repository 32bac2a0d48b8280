/**
 * Reads of the fact log by the readers of one process (event pollers, `watchEvents` iterators: often
 * many, woken by the same notification), shared so that N readers cost about one reader:
 *
 * - **One numbering at a time.** A read numbers committed facts first (`number_events()`). A read
 *   that arrives while a numbering runs waits for the next one, which starts when the running one
 *   ends and serves every read that arrived meanwhile: each read is still numbered by a numbering
 *   that began after the read did (what committed before the read — in this process or any other —
 *   gets its position, unless another process holds the numbering lock: see `facts.ts`), but a burst
 *   of reads costs two numberings, not one per read.
 * - **Recent facts in memory.** Facts are immutable once numbered. The newest facts are kept (at most
 *   {@link KEEP}, with the range of positions they cover completely); a read whose range — after its
 *   position, up to the head its numbering saw — lies inside it is answered from memory, filtered
 *   there, without a query. A read that is not covered but at most KEEP positions behind the head
 *   fills memory with one unfiltered query from its position (reads arriving meanwhile wait for that
 *   fill); a read further behind queries as before. Kept facts are frozen: every reader gets the same
 *   objects.
 *
 * A prune through this adapter forgets the kept facts. A prune by another process does not reach
 * them: a reader may then still get a fact deleted since, exactly as if it had read just before the
 * prune (prunes only delete what consumers have handled).
 * @module
 */
import type { FactQuery, FactRecord } from "../../storage/facts.js";
import type { Queryable } from "./aggregates.js";
import { checkFactQuery, queryFacts } from "./facts.js";

/** Most facts kept in memory per adapter. */
export const KEEP = 2_000;

/** Freeze a fact and its payload, all the way down (a payload is plain JSON). */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** One process's shared numbering and kept facts; see the module doc. */
export class FactReads {
  private running: Promise<number> | null = null;
  private next: Promise<number> | null = null;
  /** Kept facts by position; together with every position in `(from, to]` that still exists. */
  private kept = new Map<number, FactRecord>();
  private from = 0;
  private to = -1;
  private filling: Promise<void> | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
    /** Number committed facts once; returns the head. */
    private readonly numberNow: () => Promise<number>,
  ) {}

  /** Number committed facts by a numbering that begins after this call; returns the head it saw. */
  number(): Promise<number> {
    if (this.running === null) return this.begin();
    this.next ??= this.running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.next = null;
        return this.begin();
      });
    return this.next;
  }

  private begin(): Promise<number> {
    const run: Promise<number> = this.numberNow().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  /** Facts after `query.after` (see `readFacts`), numbered first, from memory when kept. */
  async read(query: FactQuery): Promise<FactRecord[]> {
    checkFactQuery(query);
    if (query.limit === 0) return [];
    const head = await this.number();
    if (query.after >= head) return [];
    // Reads that arrive together wait for one fill of memory rather than each querying.
    if (!this.covers(query.after, head) && this.filling !== null) await this.filling;
    if (!this.covers(query.after, head) && head - query.after <= KEEP) {
      this.filling ??= this.fill(query.after, head).finally(() => {
        this.filling = null;
      });
      await this.filling;
    }
    if (this.covers(query.after, head)) return this.fromMemory(query, head);
    return (await queryFacts(this.db, this.schema, query)).map(deepFreeze);
  }

  private covers(after: number, head: number): boolean {
    return this.from <= after && head <= this.to;
  }

  /** Read every fact after `after` (at most KEEP) into memory; a failure keeps nothing (the reads query themselves). */
  private async fill(after: number, head: number): Promise<void> {
    try {
      const rows = (await queryFacts(this.db, this.schema, { after, limit: KEEP })).map(deepFreeze);
      const last = rows.at(-1)?.seq ?? after;
      this.keep(after, rows, rows.length < KEEP ? Math.max(head, last) : last);
    } catch {
      // Nothing kept; each read runs its own query and meets the fault there.
    }
  }

  private fromMemory(query: FactQuery, head: number): FactRecord[] {
    const out: FactRecord[] = [];
    const types = query.types === undefined ? null : new Set<string>(query.types);
    for (let seq = query.after + 1; seq <= head && out.length < query.limit; seq++) {
      const e = this.kept.get(seq);
      if (e === undefined) continue; // pruned, or a position no fact took
      if (query.orgId !== undefined && e.orgId !== query.orgId) continue;
      if (query.campaignId !== undefined && e.campaignId !== query.campaignId) continue;
      if (types !== null && !types.has(e.type)) continue;
      out.push(e);
    }
    return out;
  }

  /** Keep `rows`, every fact in `(after, to]`: joined to the kept range when they touch, else replacing it when newer. */
  private keep(after: number, rows: readonly FactRecord[], to: number): void {
    if (to <= after) return;
    const touches = after <= this.to && to >= this.from;
    if (!touches) {
      if (to <= this.to) return; // older than what is kept: keep the newer range
      this.kept = new Map();
      this.from = after;
      this.to = to;
    } else {
      this.from = Math.min(this.from, after);
      this.to = Math.max(this.to, to);
    }
    for (const e of rows) this.kept.set(e.seq, e);
    if (this.kept.size > KEEP) {
      // Forget the oldest: the kept range starts after the last one forgotten.
      const seqs = [...this.kept.keys()].sort((a, b) => a - b);
      for (const seq of seqs.slice(0, this.kept.size - KEEP)) this.kept.delete(seq), (this.from = seq);
    }
  }

  /** Forget every kept fact (after a prune through this adapter). */
  forget(): void {
    this.kept = new Map();
    this.from = 0;
    this.to = -1;
  }
}

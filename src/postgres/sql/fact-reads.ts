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
 *   {@link KEEP}, weighing at most {@link KEEP_WEIGHT}, with the range of positions they cover completely); a read whose range — after its
 *   position, up to the head its numbering saw — lies inside it is answered from memory, filtered
 *   there, without a query. A read that is not covered but at most KEEP positions behind the head
 *   fills memory with one unfiltered query (reads arriving meanwhile wait for that fill): from the end
 *   of the kept range when the read's position lies inside it — readers at different positions fetch
 *   each new fact once — else from its position. A read further behind queries as before. Kept facts
 *   are frozen: every reader gets the same objects.
 *
 * A numbering or fill is shared for {@link SHARE_FOR_MS} at most: when the database stops answering,
 * later readers start their own instead of all waiting on one.
 *
 * A prune through this adapter forgets the kept facts, a fill that began before it keeps nothing, and
 * reads after a position below the pruned one go to the database from then on (the prune may be part
 * of a host's transaction that has not committed yet). A prune by another process does not reach the
 * kept facts: a reader may then still get a fact deleted since, exactly as if it had read just before
 * the prune (prunes only delete what consumers have handled).
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

/** Most kept weight: a fact weighs 1 plus the entries of its payload's lists (a move's fact lists every conversation it moved). */
export const KEEP_WEIGHT = 250_000;

/** How long a numbering or a fill is shared: a reader arriving later (the database is not answering) starts its own. */
export const SHARE_FOR_MS = 5_000;

function weightOf(e: FactRecord): number {
  let w = 1;
  if (typeof e.data === "object" && e.data !== null) for (const v of Object.values(e.data)) if (Array.isArray(v)) w += v.length;
  return w;
}

/** One process's shared numbering and kept facts; see the module doc. */
export class FactReads {
  private running: { readonly done: Promise<number>; readonly since: number } | null = null;
  private next: Promise<number> | null = null;
  /** Kept facts by position, with their weights; together with every position in `(from, to]` that still exists. */
  private kept = new Map<number, { readonly e: FactRecord; readonly w: number }>();
  private weight = 0;
  private from = 0;
  private to = -1;
  /** Reads after a position below this go to the database: a prune through this adapter may be uncommitted (a host's transaction). */
  private floor = 0;
  private filling: { readonly done: Promise<void>; readonly since: number } | null = null;
  /** Counts prunes through this adapter (`forget`): a fill that began before one keeps nothing. */
  private generation = 0;

  constructor(
    private readonly db: Queryable,
    private readonly schema: string,
    /** Number committed facts once; returns the head. */
    private readonly numberNow: () => Promise<number>,
  ) {}

  /** Number committed facts by a numbering that begins after this call; returns the head it saw. */
  number(): Promise<number> {
    // The queued numbering has not begun: it serves this call too. (Checked first: between the
    // running numbering's end and the queued one's start, `running` is already null.)
    if (this.next !== null) return this.next;
    if (this.running === null) return this.begin();
    if (performance.now() - this.running.since > SHARE_FOR_MS) return this.numberNow();
    const after = this.running.done;
    this.next = after
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
    const done: Promise<number> = this.numberNow().finally(() => {
      if (this.running?.done === done) this.running = null;
    });
    this.running = { done, since: performance.now() };
    return done;
  }

  /** Facts after `query.after` (see `readFacts`), numbered first, from memory when kept. */
  async read(query: FactQuery): Promise<FactRecord[]> {
    checkFactQuery(query);
    if (query.limit === 0) return [];
    const head = await this.number();
    if (query.after >= head) return [];
    // Reads that arrive together wait for one fill of memory rather than each querying.
    const sharing = () => this.filling !== null && performance.now() - this.filling.since <= SHARE_FOR_MS;
    if (!this.covers(query.after, head) && sharing()) await this.filling!.done;
    // A read whose position lies in the kept range fetches only what is newer than the range.
    const fillFrom = this.from <= query.after && query.after <= this.to ? this.to : query.after;
    if (!this.covers(query.after, head) && head - fillFrom <= KEEP && query.after >= this.floor && (this.filling === null || sharing())) {
      if (this.filling === null) {
        const done = this.fill(fillFrom, head).finally(() => {
          if (this.filling?.done === done) this.filling = null;
        });
        this.filling = { done, since: performance.now() };
      }
      await this.filling.done;
    }
    if (this.covers(query.after, head)) return this.fromMemory(query, head);
    return (await queryFacts(this.db, this.schema, query)).map(deepFreeze);
  }

  private covers(after: number, head: number): boolean {
    return this.from <= after && head <= this.to && after >= this.floor;
  }

  /** Read every fact after `after` (at most KEEP) into memory; a failure keeps nothing (the reads query themselves). */
  private async fill(after: number, head: number): Promise<void> {
    const generation = this.generation;
    try {
      const rows = (await queryFacts(this.db, this.schema, { after, limit: KEEP })).map(deepFreeze);
      const last = rows.at(-1)?.seq ?? after;
      // A prune through this adapter since the query began: what it read may be gone now.
      if (generation === this.generation) this.keep(after, rows, rows.length < KEEP ? Math.max(head, last) : last);
    } catch {
      // Nothing kept; each read runs its own query and meets the fault there.
    }
  }

  private fromMemory(query: FactQuery, head: number): FactRecord[] {
    const out: FactRecord[] = [];
    const types = query.types === undefined ? null : new Set<string>(query.types);
    for (let seq = query.after + 1; seq <= head && out.length < query.limit; seq++) {
      const e = this.kept.get(seq)?.e;
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
      this.weight = 0;
      this.from = after;
      this.to = to;
    } else {
      this.from = Math.min(this.from, after);
      this.to = Math.max(this.to, to);
    }
    for (const e of rows) {
      if (this.kept.has(e.seq)) continue;
      const w = weightOf(e);
      this.kept.set(e.seq, { e, w });
      this.weight += w;
    }
    if (this.kept.size > KEEP || this.weight > KEEP_WEIGHT) {
      // Forget the oldest: the kept range starts after the last one forgotten.
      for (const seq of [...this.kept.keys()].sort((a, b) => a - b)) {
        if (this.kept.size <= KEEP && this.weight <= KEEP_WEIGHT) break;
        this.weight -= this.kept.get(seq)!.w;
        this.kept.delete(seq);
        this.from = seq;
      }
    }
  }

  /** Forget every kept fact, after a prune through this adapter of facts up to `upTo` (perhaps in a host's transaction, not committed yet). */
  forget(upTo: number): void {
    this.generation++;
    this.floor = Math.max(this.floor, upTo);
    this.kept = new Map();
    this.weight = 0;
    this.from = 0;
    this.to = -1;
  }
}

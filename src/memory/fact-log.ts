/**
 * The in-memory fact log: positions in commit order, filtered reads, named consumers' positions,
 * pruning, and listeners told (after the step) that facts were recorded.
 * @module
 */
import type { Fact, FactQuery } from "../storage/facts.js";
import type { SelfAssignEvent } from "../types.js";

/** Facts in commit order, with positions from 1. */
export class FactLog {
  private readonly events: SelfAssignEvent[] = [];
  private seq = 0;
  private readonly consumers = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  /** Keep at most `max` facts (oldest dropped first); positions keep counting either way. */
  constructor(private readonly max: number) {}

  /** Record facts (in the caller's step). */
  append(facts: readonly Fact[]): void {
    if (facts.length === 0) return;
    for (const f of facts) this.events.push({ ...f, seq: ++this.seq } as SelfAssignEvent);
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
    if (this.listeners.size > 0) queueMicrotask(() => this.listeners.forEach((l) => l()));
  }

  /** Facts after `q.after`, oldest first, filtered. */
  read(q: FactQuery): SelfAssignEvent[] {
    const first = this.events.length === 0 ? 1 : this.events[0]!.seq;
    const out: SelfAssignEvent[] = [];
    for (let i = Math.max(0, q.after + 1 - first); i < this.events.length && out.length < q.limit; i++) {
      const e = this.events[i]!;
      if ((q.orgId === undefined || e.orgId === q.orgId) && (q.campaignId === undefined || e.campaignId === q.campaignId) && (q.types === undefined || q.types.includes(e.type))) {
        out.push(e);
      }
    }
    return out;
  }

  /** The newest position. */
  head(): number {
    return this.seq;
  }

  /** Tell `listener` whenever facts are recorded; returns a stop function. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A consumer's stored position. */
  consumer(name: string): number {
    return this.consumers.get(name) ?? 0;
  }

  /** Store a consumer's position (never backwards). */
  saveConsumer(name: string, position: number): void {
    this.consumers.set(name, Math.max(position, this.consumer(name)));
  }

  /** Delete facts at or below `upTo` and below every consumer's position. */
  prune(upTo: number): number {
    const limit = Math.min(upTo, ...this.consumers.values());
    let n = 0;
    while (n < this.events.length && this.events[n]!.seq <= limit) n++;
    this.events.splice(0, n);
    return n;
  }
}

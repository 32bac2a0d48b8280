/**
 * The in-memory fact log: positions in commit order, filtered reads, named consumers' positions,
 * pruning, and listeners told (after the step) that facts were recorded.
 * @module
 */
import type { Fact, FactQuery } from "../storage/facts.js";
import { conversationId } from "../storage/rules.js";
import type { SelfAssignEvent } from "../types.js";

/**
 * A kept fact. A fact naming conversations of its own campaign keeps their positions in a typed
 * array instead of the id strings, so a claim's ids die young and the fact log promotes a few
 * hundred bytes per step to the old generation instead of every id (short GC pauses, issue 12).
 */
interface Kept {
  readonly event: SelfAssignEvent;
  /** The conversation positions when packed; the data then lacks `conversationIds`. */
  readonly seqs: Int32Array | null;
}

/** Positions of `ids` when each is `<campaignId>:<n>` with a small `n`, else `null`. Allocates only the result. */
function pack(campaignId: string | null, ids: unknown): Int32Array | null {
  if (campaignId === null || !Array.isArray(ids) || ids.length < 8) return null;
  const out = new Int32Array(ids.length);
  const n = campaignId.length;
  for (let k = 0; k < ids.length; k++) {
    const id: unknown = ids[k];
    if (typeof id !== "string" || id.length <= n + 1 || id.length > n + 10 || id.charCodeAt(n) !== 58 || !id.startsWith(campaignId)) return null;
    let v = 0;
    for (let i = n + 1; i < id.length; i++) {
      const d = id.charCodeAt(i) - 48;
      if (d < 0 || d > 9 || (d === 0 && i === n + 1 && id.length > n + 2)) return null;
      v = v * 10 + d;
    }
    out[k] = v;
  }
  return out;
}

/** Keep one fact; `known`, when given, are the positions of its `conversationIds`, in order. */
function keep(event: SelfAssignEvent, known: Int32Array | null): Kept {
  const data = event.data as Record<string, unknown>;
  const ids = data.conversationIds;
  const seqs = known !== null && Array.isArray(ids) && ids.length === known.length ? known : pack(event.campaignId, ids);
  if (seqs === null) return { event, seqs };
  const { conversationIds: _, ...rest } = data;
  return { event: { ...event, data: rest } as unknown as SelfAssignEvent, seqs };
}

/** The fact as readers see it. */
function unpack(kept: Kept): SelfAssignEvent {
  const { event, seqs } = kept;
  if (seqs === null) return event;
  const campaignId = event.campaignId!;
  const conversationIds = Array.from(seqs, (n) => conversationId(campaignId, n));
  return { ...event, data: { ...event.data, conversationIds } } as unknown as SelfAssignEvent;
}

/** Facts in commit order, with positions from 1. */
export class FactLog {
  /** Kept facts are `events[start..]`; dropped ones are cut off in chunks so a step costs O(1). */
  private readonly events: Kept[] = [];
  private start = 0;
  private seq = 0;
  private readonly consumers = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  /** Keep at most `max` facts (oldest dropped first); positions keep counting either way. */
  constructor(private readonly max: number) {}

  /**
   * Record facts (in the caller's step). `lastSeqs`, when given, are the positions of the last fact's
   * `conversationIds` (conversations of its own campaign, in order), which the caller knows: the log
   * keeps them as they are instead of parsing them back from the ids (a parse flattens each id string).
   */
  append(facts: readonly Fact[], lastSeqs: Int32Array | null = null): void {
    if (facts.length === 0) return;
    const last = facts.length - 1;
    for (let i = 0; i <= last; i++) this.events.push(keep({ ...facts[i]!, seq: ++this.seq } as SelfAssignEvent, i === last ? lastSeqs : null));
    const kept = this.events.length - this.start;
    if (kept > this.max) this.drop(kept - this.max);
    if (this.listeners.size > 0) queueMicrotask(() => this.listeners.forEach((l) => l()));
  }

  /** Facts after `q.after`, oldest first, filtered. */
  read(q: FactQuery): SelfAssignEvent[] {
    const first = this.start === this.events.length ? 1 : this.events[this.start]!.event.seq;
    const out: SelfAssignEvent[] = [];
    for (let i = this.start + Math.max(0, q.after + 1 - first); i < this.events.length && out.length < q.limit; i++) {
      const e = this.events[i]!.event;
      if ((q.orgId === undefined || e.orgId === q.orgId) && (q.campaignId === undefined || e.campaignId === q.campaignId) && (q.types === undefined || q.types.includes(e.type))) {
        out.push(unpack(this.events[i]!));
      }
    }
    return out;
  }

  /** Forget the oldest `n` kept facts. */
  private drop(n: number): void {
    this.events.fill(undefined as never, this.start, this.start + n);
    this.start += n;
    if (this.start >= 1024 && this.start * 2 >= this.events.length) {
      this.events.splice(0, this.start);
      this.start = 0;
    }
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
    while (this.start + n < this.events.length && this.events[this.start + n]!.event.seq <= limit) n++;
    this.drop(n);
    return n;
  }
}

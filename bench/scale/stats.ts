/**
 * Latency histograms that merge across processes: logarithmic buckets 1% wide from 0.01 ms, so a
 * percentile is within 1% of the exact value and a worker sends a few hundred numbers, not every
 * sample. Plus per-second counters for rates.
 */

const BASE = 1.01;
const MIN_MS = 0.01;
const LOG_BASE = Math.log(BASE);

/** Bucket index → count, as a plain object (survives IPC as JSON). */
export type HistogramData = Record<string, number>;

export class Histogram {
  readonly buckets = new Map<number, number>();
  count = 0;
  max = 0;
  sum = 0;

  add(ms: number): void {
    this.sum += ms;
    const i = ms <= MIN_MS ? 0 : Math.ceil(Math.log(ms / MIN_MS) / LOG_BASE);
    this.buckets.set(i, (this.buckets.get(i) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  toJSON(): { buckets: HistogramData; count: number; max: number; sum: number } {
    return { buckets: Object.fromEntries(this.buckets), count: this.count, max: this.max, sum: this.sum };
  }

  static from(data: { buckets: HistogramData; count: number; max: number; sum?: number }): Histogram {
    const h = new Histogram();
    h.merge(data);
    return h;
  }

  merge(data: { buckets: HistogramData; count: number; max: number; sum?: number }): void {
    this.sum += data.sum ?? 0;
    for (const [k, v] of Object.entries(data.buckets)) this.buckets.set(Number(k), (this.buckets.get(Number(k)) ?? 0) + v);
    this.count += data.count;
    this.max = Math.max(this.max, data.max);
  }

  /** The p-th percentile (0..100), ms; null when empty. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const i of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(i)!;
      if (seen >= rank) return Math.min(this.max, i === 0 ? MIN_MS : MIN_MS * BASE ** i);
    }
    return this.max;
  }

  summary(): { count: number; p50_ms: number | null; p99_ms: number | null; p999_ms: number | null; max_ms: number | null } {
    const r = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
    return { count: this.count, p50_ms: r(this.percentile(50)), p99_ms: r(this.percentile(99)), p999_ms: r(this.percentile(99.9)), max_ms: this.count === 0 ? null : r(this.max) };
  }
}

/** Counts per whole second since a common epoch (for rates over a window). */
export class PerSecond {
  readonly counts = new Map<number, number>();
  constructor(private readonly epochMs: number) {}

  add(n = 1, at = Date.now()): void {
    const s = Math.floor((at - this.epochMs) / 1000);
    this.counts.set(s, (this.counts.get(s) ?? 0) + n);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** Sum per-second maps. */
export function mergeSeconds(into: Map<number, number>, data: Record<string, number>): void {
  for (const [k, v] of Object.entries(data)) into.set(Number(k), (into.get(Number(k)) ?? 0) + v);
}

/** Mean rate over [from, to) seconds, and the lowest and median 10-second window inside it. */
export function rateOver(perSecond: Map<number, number>, from: number, to: number): { mean_per_s: number; min_10s_per_s: number; median_10s_per_s: number } {
  let total = 0;
  for (let s = from; s < to; s++) total += perSecond.get(s) ?? 0;
  const windows: number[] = [];
  for (let s = from; s + 10 <= to; s += 10) {
    let n = 0;
    for (let k = s; k < s + 10; k++) n += perSecond.get(k) ?? 0;
    windows.push(n / 10);
  }
  windows.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x);
  return {
    mean_per_s: round(total / Math.max(1, to - from)),
    min_10s_per_s: round(windows[0] ?? 0),
    median_10s_per_s: round(windows[Math.floor(windows.length / 2)] ?? 0),
  };
}

/**
 * Measuring two or more cases side by side on a shared machine: their requests alternate, and a ratio
 * of two cases is the median of its per-round ratios.
 * @module
 */
import { median } from "./report.js";

/** A timed request: when it started and ended (`performance.now()`). */
export type Sample = { start: number; end: number };

/** One case of a side-by-side measurement: makes request `i` and returns its timed interval (clean-up untimed). */
export type Step = (i: number) => Promise<Sample>;

/** Time `run`. */
export async function timed(run: () => Promise<unknown>): Promise<Sample> {
  const start = performance.now();
  await run();
  return { start, end: performance.now() };
}

/**
 * Runs the cases request by request, alternating them (A B, then B A, ...), `warmUp` untimed requests each
 * then `requests` measured ones, so that every case sees the same phases of this shared machine: a ratio of two
 * cases compares requests made within milliseconds of each other, not runs a second apart.
 */
export async function sideBySide(steps: readonly Step[], requests: number, warmUp: number): Promise<Sample[][]> {
  const samples = steps.map(() => [] as Sample[]);
  for (let i = -warmUp; i < requests; i++) {
    const order = i % 2 === 0 ? steps.map((_, k) => k) : steps.map((_, k) => steps.length - 1 - k);
    for (const k of order) {
      const s = await steps[k]!(i);
      if (i >= 0) samples[k]!.push(s);
    }
  }
  return samples;
}

/** Each round's `figure` of `a` over `b` (the two measured side by side in that round). */
export function roundRatios<T>(a: readonly T[], b: readonly T[], figure: (x: T) => number): number[] {
  return a.map((x, i) => figure(x) / figure(b[i]!));
}

/**
 * The median over rounds of `a`'s figure over `b`'s in the same round: a round compares the two in
 * the same phase of a shared machine, whose speed drifts by a third between rounds; a ratio of the two
 * medians can pair one case's fast round with the other's slow one.
 */
export function pairedRatio<T>(a: readonly T[], b: readonly T[], figure: (x: T) => number): number {
  return median(roundRatios(a, b, figure));
}

/**
 * The shape every benchmark writes to `bench/results/<name>.json`, and what `npm run bench:docs`
 * renders into docs/benchmarks.md: the machine, the load, the rounds, tables of figures and targets
 * marked met or not. The docs are generated from these files only, so they cannot drift from them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A table of figures: column labels and rows of cells (numbers are rounded by the renderer). */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number | null)[])[];
  /** One short sentence under the table, if needed. */
  readonly note?: string;
}

/** A target: the measured value, the bound (`">= 0.9"`, `"<= 150"`), met or not. */
export interface Target {
  readonly name: string;
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
  /** Where the target comes from, e.g. "issue 12". */
  readonly source?: string;
  /** Unit of value, e.g. "ms", "x" (ratio). */
  readonly unit?: string;
}

/** The machine a run measured on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly postgres?: string;
  /** 1-minute load average at the start and at the end of the run (other work on a shared machine). */
  readonly loadStart: number;
  readonly loadEnd: number;
}

/** One result file. */
export interface Report {
  readonly title: string;
  readonly command: string;
  readonly date: string;
  readonly machine: Machine;
  /** The load, in one or two sentences. */
  readonly load: string;
  /** Rounds per comparison (medians reported). */
  readonly rounds: number;
  readonly seconds: number;
  readonly tables: readonly Table[];
  readonly targets: readonly Target[];
  /** Short notes (what is not met and why, how a figure is measured). */
  readonly notes?: readonly string[];
  /** Every round's raw figures, for anyone re-checking the medians. */
  readonly raw?: unknown;
}

/** Check `value` against a bound written `">= 0.9"`, `"<= 150"`, `"< 2"`, `"> 0"` or `"== 0"`. */
export function meets(value: number, bound: string): boolean {
  const m = /^\s*(>=|<=|==|<|>)\s*(-?[0-9.,_]+)\s*$/.exec(bound);
  if (m === null) throw new Error(`bad target bound ${bound}`);
  const limit = Number(m[2]!.replace(/[,_]/g, ""));
  switch (m[1]) {
    case ">=":
      return value >= limit;
    case "<=":
      return value <= limit;
    case "<":
      return value < limit;
    case ">":
      return value > limit;
    default:
      return value === limit;
  }
}

/** A target, checked. */
export function target(name: string, value: number, bound: string, extra: { source?: string; unit?: string } = {}): Target {
  return { name, value, target: bound, met: Number.isFinite(value) && meets(value, bound), ...extra };
}

/** The machine, as far as this process can tell; `loadEnd` is filled by {@link finish}. */
export function machine(postgres?: string): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ...(postgres === undefined ? {} : { postgres }),
    loadStart: loadavg()[0]!,
    loadEnd: Number.NaN,
  };
}

const here = dirname(fileURLToPath(import.meta.url));

/** The results directory. */
export const RESULTS = join(here, "..", "results");

/** Write `bench/results/<name>.json` (the end load filled in); returns its path. */
export function writeReport(name: string, report: Report): string {
  const out = join(RESULTS, `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const done: Report = { ...report, machine: { ...report.machine, loadEnd: loadavg()[0]! } };
  writeFileSync(out, `${JSON.stringify(done, null, 2)}\n`);
  return out;
}

/** Percentile of sorted values (nearest rank). */
export function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Median of values. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Print the targets of a report as a console table. */
export function printTargets(targets: readonly Target[]): void {
  console.table(targets.map((t) => ({ target: t.name, value: Number(t.value.toPrecision(4)), bound: t.target, met: t.met })));
}

/** A whole-number environment knob. */
export function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

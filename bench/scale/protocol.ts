/** Messages between the orchestrator (bench/scale/main.ts) and the app-server processes (worker.ts). */
import type { ScaleConfig, TexterPlan } from "./config.js";
import type { HistogramData } from "./stats.js";

export interface WorkerInit {
  readonly type: "init";
  readonly index: number;
  readonly config: ScaleConfig;
  readonly url: string;
  readonly texters: readonly TexterPlan[];
  readonly campaigns: { readonly A: string; readonly B: string };
  readonly tokens: { readonly A: string; readonly B: string };
  readonly orgId: string;
  /** Event position before the run: the watcher starts there, so it sees every change of the run. */
  readonly eventHead: number;
  /** Common epoch of the per-second counters. */
  readonly epochMs: number;
}

export type ToWorker = WorkerInit | { readonly type: "start"; readonly t0: number } | { readonly type: "stop" } | { readonly type: "verify" } | { readonly type: "exit" };

export interface HistogramJson {
  readonly buckets: HistogramData;
  readonly count: number;
  readonly max: number;
  readonly sum: number;
}

export interface WorkerStats {
  readonly histograms: Record<string, HistogramJson>;
  readonly counts: Record<string, number>;
  readonly errors: Record<string, { count: number; sample: string }>;
  /** Message events recorded, per second since the epoch, by kind. */
  readonly messages: Record<string, Record<string, number>>;
  /** Claim queue (diagnostics channel): most claims waiting in memory / running at once. */
  readonly claimQueue: { readonly maxWaiting: number; readonly maxActive: number };
  /** Last join's completion, ms after t0. */
  readonly lastJoinMs: number | null;
  /** Requests over 250 ms: [start ms after t0, duration ms]. */
  readonly slowRequests: readonly (readonly [number, number])[];
  readonly joined: number;
}

export interface LedgerReport {
  readonly texters: number;
  readonly mismatchedTexters: number;
  /** Held in the database, missing from the texter's ledger. */
  readonly missing: number;
  /** In the ledger, not held in the database. */
  readonly extra: number;
  /** Ledger counts other than 0 or 1 (a gain or loss seen twice). */
  readonly badCounts: number;
  readonly heldByLedgers: number;
  readonly heldInDatabase: number;
  readonly samples: readonly string[];
  readonly eventsSeen: number;
}

export type FromWorker =
  | { readonly type: "ready"; readonly index: number }
  | { readonly type: "progress"; readonly index: number; readonly counts: Record<string, number> }
  | { readonly type: "joins_done"; readonly index: number }
  | { readonly type: "stopped"; readonly index: number; readonly stats: WorkerStats }
  | { readonly type: "verified"; readonly index: number; readonly ledger: LedgerReport }
  | { readonly type: "failed"; readonly index: number; readonly error: string };

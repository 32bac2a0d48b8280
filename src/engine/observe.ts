/**
 * Observability the Node way: a `node:diagnostics_channel` tracing channel per engine operation
 * (`selfassign:<operation>`: start, end, asyncStart, asyncEnd, error), plain channels for waiting and
 * storage faults, and an optional logger. Nothing is built or published when nobody subscribes.
 * @module
 */
import { channel, tracingChannel, type TracingChannel } from "node:diagnostics_channel";
import type { AssignmentError } from "../errors.js";

/** What a tracing channel's subscribers get for one call (the `context` of every event of the call). */
export interface OperationContext {
  /** The operation, e.g. `"requestConversations"`. */
  readonly operation: string;
  /** The campaign named by the input, if any. */
  readonly campaignId: string | undefined;
  /** The organization named by the input, if any. */
  readonly orgId: string | undefined;
  /** The acting user (`actorId`, `texterId` or `userId` of the input), if any. */
  readonly actorId: string | undefined;
  /** Set when the call resolved: `"ok"`, a refusal reason (`"refused:batch_unfinished"`) … */
  outcome?: string;
  /** Set by Node when the call resolved: its result. */
  result?: unknown;
  /** Set by Node when the call failed: the error (an `AssignmentError`). */
  error?: unknown;
}

/** An optional logger (console-like); each method optional. */
export interface EngineLogger {
  /** Routine detail: a lost race decided again. */
  debug?(message: string, data: Record<string, unknown>): void;
  /** Something a host should look at: a wait that timed out, a storage fault. */
  warn?(message: string, data: Record<string, unknown>): void;
}

/** Channel names, for subscribers: `diagnostics_channel.subscribe(CHANNELS.retry, …)`. */
export const CHANNELS = {
  /** An operation lost a race and decides again: `{ operation, attempt }`. */
  retry: "selfassign:retry",
  /**
   * An operation gave up waiting: `{ operation, waitTimeoutMs }` — the engine's retries of an
   * operation after `waitTimeoutMs`, or an adapter's own wait for a lock (PostgreSQL's
   * `lockTimeoutMs`): then `operation` is `storage.<method>` and `waitTimeoutMs` the adapter's limit
   * (`null` when it does not say).
   */
  timeout: "selfassign:timeout",
  /** A storage method failed: `{ method, outcome, error }`. */
  storageError: "selfassign:storage-error",
  /** The PostgreSQL adapter's claim queue changed: `{ schema, waiting, active }` (claims waiting in memory for a slot, claim transactions running). */
  claimQueue: "selfassign:claim-queue",
} as const;

const operations = new Map<string, TracingChannel<object, OperationContext>>();
const retry = channel(CHANNELS.retry);
const timeout = channel(CHANNELS.timeout);
const storageError = channel(CHANNELS.storageError);

function field(input: unknown, ...names: string[]): string | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  for (const name of names) {
    const value = (input as Record<string, unknown>)[name];
    if (typeof value === "string") return value;
  }
  return undefined;
}

function outcomeOf(result: unknown): string {
  if (typeof result === "object" && result !== null && (result as { ok?: unknown }).ok === false) return `refused:${String((result as { reason?: unknown }).reason)}`;
  return "ok";
}

/** Run one operation, traced on `selfassign:<operation>` when anybody subscribes. */
export function traced<T>(operation: string, input: unknown, run: () => Promise<T>): Promise<T> {
  let tc = operations.get(operation);
  if (tc === undefined) operations.set(operation, (tc = tracingChannel(`selfassign:${operation}`)));
  if (!tc.hasSubscribers) return run();
  const context: OperationContext = {
    operation,
    campaignId: field(input, "campaignId"),
    orgId: field(input, "orgId"),
    actorId: field(input, "actorId", "texterId", "userId"),
  };
  return tc.tracePromise(async () => {
    const result = await run();
    context.outcome = outcomeOf(result);
    return result;
  }, context);
}

/** Where the engine reports what happens inside: channels, and the host's logger. */
export class Observer {
  constructor(private readonly logger: EngineLogger | undefined) {}

  /** A lost race, decided again. */
  retried(operation: string, attempt: number): void {
    if (retry.hasSubscribers) retry.publish({ operation, attempt });
    this.logger?.debug?.("selfassign: lost a race to a concurrent change; deciding again", { operation, attempt });
  }

  /** A wait that ran out: the engine's retries (`waitTimeoutMs`), or an adapter's lock wait (`storage.<method>`, its limit or `null`). */
  timedOut(operation: string, waitTimeoutMs: number | null): void {
    if (timeout.hasSubscribers) timeout.publish({ operation, waitTimeoutMs });
    this.logger?.warn?.("selfassign: gave up waiting for a turn behind concurrent changes", { operation, waitTimeoutMs });
  }

  /** An adapter's own wait ran out (an `AssignmentError` with code `TIMEOUT` from a storage method; PostgreSQL's says its `lockTimeoutMs`). */
  storageTimedOut(method: string, error: AssignmentError): void {
    const limit = error.details.lockTimeoutMs;
    this.timedOut(`storage.${method}`, typeof limit === "number" ? limit : null);
  }

  /** A storage fault. */
  storageFault(method: string, outcome: string, error: unknown): void {
    if (storageError.hasSubscribers) storageError.publish({ method, outcome, error });
    this.logger?.warn?.("selfassign: storage fault", { method, outcome, error });
  }
}

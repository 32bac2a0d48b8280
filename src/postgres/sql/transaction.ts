/**
 * Transactions: check out a connection, BEGIN (with the adapter's lock timeout), run, COMMIT; on any
 * error ROLLBACK and, if the connection itself failed, destroy it rather than return it to the pool.
 *
 * While the adapter holds a client it listens for the client's `error` event: `pg` emits it when the
 * backend dies (failover, `pg_terminate_backend`, a network cut), and an EventEmitter `error` with no
 * listener would crash the host process. The statement in flight fails on its own; the listener only
 * records that the connection is broken, so the client is released with the error (destroyed).
 *
 * Waiting is bounded: a transaction begun with a `lockTimeoutMs` sets `lock_timeout` for itself only
 * (`SET LOCAL`, in the same round trip as BEGIN), and a lock wait that runs out fails the step with an
 * `AssignmentError` `TIMEOUT` — nothing was changed — instead of a storage fault.
 * @module
 */
import { AssignmentError } from "../../errors.js";
import type { PgClientLike, PgPoolLike } from "../pg-like.js";

/** Signals a rollback that is an answer, not a fault (a version conflict, a refused check). */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/**
 * Thrown when COMMIT itself failed (for example the connection died while committing): the
 * transaction may or may not have committed. The engine reports it as `STORAGE_ERROR` with
 * `details.outcome = "unknown"`; a request retried with the same idempotency key resolves it.
 */
export class CommitOutcomeUnknown extends Error {
  /** Always `"unknown"`. */
  readonly outcome = "unknown";
  constructor(cause: unknown) {
    super(`COMMIT failed; the transaction may have committed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "CommitOutcomeUnknown";
  }
}

/** How a transaction waits for locks. */
export interface TxOptions {
  /** Longest wait for any one lock, ms (`lock_timeout`); `0` waits without limit. */
  readonly lockTimeoutMs: number;
}

/** PostgreSQL's SQLSTATE for a lock wait that ran into `lock_timeout`. */
const LOCK_NOT_AVAILABLE = "55P03";

/** True when `error` is PostgreSQL's "canceling statement due to lock timeout". */
export function isLockTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === LOCK_NOT_AVAILABLE;
}

/** The `TIMEOUT` error a lock wait that ran out becomes. */
export function lockTimeoutError(lockTimeoutMs: number, cause: unknown): AssignmentError {
  return new AssignmentError(
    "TIMEOUT",
    `Waited longer than ${lockTimeoutMs} ms (the PostgreSQL adapter's lockTimeoutMs) for concurrent changes to finish; nothing was changed. Retry, or raise lockTimeoutMs.`,
    { cause, details: { lockTimeoutMs } },
  );
}

/**
 * Check out a client and hold it while `use` runs, listening for its `error` event the whole time.
 * `use` gets a `fail` callback to mark the connection broken; the client is released with the first
 * error seen (destroyed) or, if none, returned to the pool.
 */
export async function withClient<T>(pool: PgPoolLike, use: (client: PgClientLike, fail: (error: unknown) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown = undefined;
  const fail = (error: unknown) => {
    if (broken === undefined) broken = error ?? new Error("connection failed");
  };
  const onError = (error: Error) => fail(error);
  client.on?.("error", onError);
  try {
    return await use(client, fail);
  } finally {
    client.removeListener?.("error", onError);
    client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
  }
}

/** BEGIN, with `SET LOCAL lock_timeout` in the same round trip when a timeout is given (a validated integer, inlined). */
function begin(options: TxOptions | undefined): string {
  if (options === undefined) return "BEGIN";
  const ms = options.lockTimeoutMs;
  if (!Number.isInteger(ms) || ms < 0 || ms > 2_147_483_647) throw new TypeError(`invalid lock timeout ${ms}`);
  return `BEGIN; SET LOCAL lock_timeout = ${ms}`;
}

/**
 * Run `body` in one transaction. Returning a {@link Rollback} rolls back and returns its value. With
 * `options`, every lock wait is bounded by its `lockTimeoutMs` (a wait that runs out throws `TIMEOUT`).
 */
export async function transaction<T>(pool: PgPoolLike, body: (client: PgClientLike) => Promise<T | Rollback<T>>, options?: TxOptions): Promise<T> {
  const first = begin(options);
  return withClient(pool, async (client, fail) => {
    try {
      await client.query(first);
      const result = await body(client);
      if (result instanceof Rollback) {
        await client.query("ROLLBACK");
        return result.value;
      }
      try {
        await client.query("COMMIT");
      } catch (error) {
        fail(error);
        throw new CommitOutcomeUnknown(error);
      }
      return result;
    } catch (error) {
      if (error instanceof CommitOutcomeUnknown) throw error;
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        fail(rollbackError);
      }
      if (options !== undefined && isLockTimeout(error)) throw lockTimeoutError(options.lockTimeoutMs, error);
      throw error;
    }
  });
}

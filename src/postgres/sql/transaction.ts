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
 *
 * Round trips are saved (`batch.ts`): BEGIN goes with the body's first statement (the campaign lock),
 * and the facts with COMMIT. A deferred statement that fails makes PostgreSQL skip the COMMIT, so it is
 * an ordinary failure; only a COMMIT that got no answer leaves the outcome unknown.
 *
 * Shared transactions: over a {@link SharedClient} (a client the host began a transaction on) the
 * same steps run as savepoints inside the host's transaction — `SAVEPOINT`, the adapter's lock timeout
 * for the step only, then `RELEASE` (or `ROLLBACK TO` on a refusal or a fault, which leaves the host's
 * transaction usable) — and commit or roll back with it.
 * @module
 */
import { AssignmentError } from "../../errors.js";
import type { PgClientLike, PgPoolLike, PgResultLike } from "../pg-like.js";
import { BatchingClient } from "./batch.js";
import { channelOf, takeFactsMark } from "./facts.js";

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

/** How a transaction waits for locks, and who hears of its facts. */
export interface TxOptions {
  /** Longest wait for any one lock, ms (`lock_timeout`); `0` waits without limit. */
  readonly lockTimeoutMs: number;
  /** Called after the COMMIT of a transaction that inserted facts (the adapter then notifies, outside the transaction). */
  readonly factsCommitted?: () => void;
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

/**
 * True for an error the PostgreSQL server itself answered for a failed statement: the transaction is
 * aborted and the connection is fine. Server errors name the source `routine`; an error a proxy makes
 * up (PgBouncer before 1.16 reported a dead server as an ERROR `08P01`) does not. Connection
 * failures (class 08), shutdowns and cancellations by the administrator (57P0x), resource and system
 * errors (53, 58) and internal errors (XX) never count: after those the outcome is unknown. Judged by
 * SQLSTATE, not by `severity`, which the server localizes.
 */
export function isStatementError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, routine } = error as { code?: unknown; routine?: unknown };
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof routine === "string" && routine !== "" && !/^(08|57P0|53|58|XX)/.test(code);
}

/** BEGIN, with `SET LOCAL lock_timeout` in the same round trip when a timeout is given (a validated integer, inlined). */
function begin(options: TxOptions | undefined): string {
  // READ COMMITTED whatever the database's default: every step reads what it decides on in a statement
  // after its locks, which must see what committed before it got them (a fresh snapshot per statement).
  if (options === undefined) return "BEGIN ISOLATION LEVEL READ COMMITTED";
  return `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = ${validTimeout(options.lockTimeoutMs)}`;
}

function validTimeout(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > 2_147_483_647) throw new TypeError(`invalid lock timeout ${ms}`);
  return ms;
}

/**
 * Run `body` in one transaction. Returning a {@link Rollback} rolls back and returns its value. With
 * `options`, every lock wait is bounded by its `lockTimeoutMs` (a wait that runs out throws `TIMEOUT`).
 */
export async function transaction<T>(pool: PgPoolLike, body: (client: PgClientLike) => Promise<T | Rollback<T>>, options?: TxOptions): Promise<T> {
  if (pool instanceof SharedClient) return savepoint(pool, body, options);
  const first = begin(options);
  return withClient(pool, async (raw, fail) => {
    const client = new BatchingClient(raw, first);
    try {
      const result = await body(client);
      if (result instanceof Rollback) {
        if (client.started) await raw.query("ROLLBACK");
        return result.value;
      }
      const tail = client.takeTail();
      if (!client.started && tail.length === 0) return result; // the body ran no statement: nothing to commit
      // One per line, so a statement's trailing comment cannot swallow the COMMIT.
      await sendWithCommit(raw, [...(client.started ? [] : [first]), ...tail, "COMMIT"].join(";\n"), fail, tail.length > 0);
      if (takeFactsMark(client) !== undefined) options?.factsCommitted?.();
      return result;
    } catch (error) {
      return rollBack(raw, fail, error, options);
    } finally {
      takeFactsMark(client);
    }
  });
}

/**
 * Send `text`, a query whose last statement is COMMIT, and return its results (one per statement).
 * With `before`, statements run before the COMMIT in it, and one the server refuses is an ordinary
 * failure: PostgreSQL skipped the rest (the COMMIT too) and the transaction is aborted. Anything else —
 * above all a connection lost while the query runs — leaves the outcome unknown. A COMMIT answered
 * with ROLLBACK (an earlier error aborted the transaction) is a failure.
 */
async function sendWithCommit(raw: PgClientLike, text: string, fail: (error: unknown) => void, before: boolean): Promise<(PgResultLike<unknown> & { command?: unknown })[]> {
  let answer: unknown;
  try {
    answer = await raw.query(text);
  } catch (error) {
    if (before && isStatementError(error)) throw error;
    fail(error);
    throw new CommitOutcomeUnknown(error);
  }
  const results = (Array.isArray(answer) ? answer : [answer]) as (PgResultLike<unknown> & { command?: unknown })[];
  if (results[results.length - 1]?.command === "ROLLBACK") {
    throw new Error("COMMIT was answered with ROLLBACK: a statement of the transaction had failed; nothing was written.");
  }
  return results;
}

/** After a transaction's failure: ROLLBACK (unless the outcome is unknown), then throw — a lock wait that ran out as `TIMEOUT`. */
async function rollBack(raw: PgClientLike, fail: (error: unknown) => void, error: unknown, options: TxOptions | undefined): Promise<never> {
  if (error instanceof CommitOutcomeUnknown) throw error;
  try {
    await raw.query("ROLLBACK");
  } catch (rollbackError) {
    fail(rollbackError);
  }
  if (options !== undefined && isLockTimeout(error)) throw lockTimeoutError(options.lockTimeoutMs, error);
  throw error;
}

/**
 * A whole transaction in one round trip: BEGIN with the lock timeout, the statements (no parameters:
 * values inlined; given as a function, made for the connection checked out), COMMIT, sent as one
 * query; the results of the statements. Failures as in
 * {@link transaction}, except that the COMMIT travels with everything: a connection lost while the
 * query runs leaves the outcome unknown. Not for a host's transaction.
 */
export async function oneQueryTransaction<R>(
  pool: PgPoolLike,
  statementsFor: readonly string[] | ((client: PgClientLike) => readonly string[]),
  options: TxOptions,
): Promise<PgResultLike<R>[]> {
  return withClient(pool, async (raw, fail) => {
    try {
      const statements = typeof statementsFor === "function" ? statementsFor(raw) : statementsFor;
      // One per line, so no statement's trailing comment can swallow the next.
      const results = await sendWithCommit(raw, [begin(options), ...statements, "COMMIT"].join(";\n"), fail, true);
      if (results.length < statements.length + 2) throw new CommitOutcomeUnknown(new Error("the client answered a query of several statements with fewer results"));
      return results.slice(-1 - statements.length, -1) as PgResultLike<R>[];
    } catch (error) {
      return rollBack(raw, fail, error, options);
    }
  });
}

/**
 * A "pool" of one client on which the host has begun a transaction: every statement runs on that
 * client, one at a time (steps and reads queue, so two engine calls never interleave their
 * savepoints), and {@link transaction} runs its body as a savepoint. It never checks out, releases or
 * destroys the client: the host owns it, and commits or rolls back.
 */
export class SharedClient implements PgPoolLike {
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly client: PgClientLike) {}

  /** Wait for the client's turn; resolves with the function that ends it. */
  private turn(): Promise<() => void> {
    let end!: () => void;
    const mine = new Promise<void>((resolve) => (end = resolve));
    const ready = this.tail.then(() => end);
    this.tail = this.tail.then(() => mine);
    return ready;
  }

  /** The client, for one step: `release()` ends the step's turn (and never releases the host's client). */
  async connect(): Promise<PgClientLike> {
    const end = await this.turn();
    const host = this.client;
    let done = false;
    return {
      query: <R>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>> => host.query<R>(text, values),
      release: () => {
        if (done) return;
        done = true;
        end();
      },
    };
  }

  /** One statement, in turn. */
  async query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>> {
    const end = await this.turn();
    try {
      return await this.client.query<R>(text, values);
    } finally {
      end();
    }
  }
}

/** The savepoint of an adapter step inside the host's transaction (steps never nest: they take turns). */
const SAVEPOINT = "selfassign_step";

/**
 * {@link transaction} inside the host's transaction: SAVEPOINT; the adapter's lock timeout for this
 * step only (the host's own is put back before the end); the body; a `pg_notify` when the step
 * inserted facts (delivered when the host commits); RELEASE — or, on a refusal or a fault, ROLLBACK TO
 * the savepoint, which undoes the step and leaves the host's transaction usable.
 */
async function savepoint<T>(shared: SharedClient, body: (client: PgClientLike) => Promise<T | Rollback<T>>, options: TxOptions | undefined): Promise<T> {
  const client = await shared.connect();
  try {
    await client.query(`SAVEPOINT ${SAVEPOINT}`);
    try {
      let hostTimeout: string | null = null;
      if (options !== undefined) {
        // Read the host's setting before replacing it (the CTE runs first), for this transaction only.
        const { rows } = await client.query<{ previous: string }>(
          `WITH p AS MATERIALIZED (SELECT current_setting('lock_timeout') AS previous) SELECT previous, set_config('lock_timeout', $1, true) FROM p`,
          [String(validTimeout(options.lockTimeoutMs))],
        );
        hostTimeout = rows[0]!.previous;
      }
      const result = await body(client);
      if (result instanceof Rollback) {
        await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`);
        return result.value;
      }
      // Inside the savepoint, so that both are kept by RELEASE (and both dropped if it never comes).
      const schema = takeFactsMark(client);
      if (hostTimeout !== null || schema !== undefined) {
        await client.query(
          `SELECT ${hostTimeout === null ? "" : "set_config('lock_timeout', $1, true), "}${schema === undefined ? "1" : `pg_notify($${hostTimeout === null ? 1 : 2}, '')`}`,
          [...(hostTimeout === null ? [] : [hostTimeout]), ...(schema === undefined ? [] : [channelOf(schema)])],
        );
      }
      await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      return result;
    } catch (error) {
      // Undo the step (and its lock timeout); a failure here means the host's transaction is broken anyway.
      await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}; RELEASE SAVEPOINT ${SAVEPOINT}`).catch(() => undefined);
      if (options !== undefined && isLockTimeout(error)) throw lockTimeoutError(options.lockTimeoutMs, error);
      throw error;
    }
  } finally {
    takeFactsMark(client);
    client.release();
  }
}

/**
 * Transactions: check out a connection, BEGIN, run, COMMIT; on any error ROLLBACK and, if the
 * connection itself failed, destroy it rather than return it to the pool.
 * @module
 */
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

/** Run `body` in one transaction. Returning a {@link Rollback} rolls back and returns its value. */
export async function transaction<T>(pool: PgPoolLike, body: (client: PgClientLike) => Promise<T | Rollback<T>>): Promise<T> {
  const client = await pool.connect();
  let broken: unknown = undefined;
  try {
    await client.query("BEGIN");
    const result = await body(client);
    if (result instanceof Rollback) {
      await client.query("ROLLBACK");
      return result.value;
    }
    try {
      await client.query("COMMIT");
    } catch (error) {
      broken = error;
      throw new CommitOutcomeUnknown(error);
    }
    return result;
  } catch (error) {
    if (error instanceof CommitOutcomeUnknown) throw error;
    try {
      await client.query("ROLLBACK");
    } catch (rollbackError) {
      broken = rollbackError;
    }
    throw error;
  } finally {
    client.release(broken === undefined ? undefined : broken instanceof Error ? broken : true);
  }
}

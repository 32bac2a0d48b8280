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
    await client.query("COMMIT");
    return result;
  } catch (error) {
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

/** Limits how many claims one process runs at once (see docs/postgres.md, pool sizing). */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Run `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

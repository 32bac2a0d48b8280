/**
 * What the SQLite adapter needs of better-sqlite3, as small structural types (so the rest of
 * selfassign never needs better-sqlite3's own types), and the connection it works through: a cache of
 * prepared statements and the step every contract method runs in — one `BEGIN IMMEDIATE`
 * transaction, atomic and serialized against every other writer of the file.
 * @module
 */

/** What running a statement reports. */
export interface SqliteRunResult {
  /** Rows changed. */
  readonly changes: number;
}

/** A transaction-wrapped function, as better-sqlite3's `db.transaction(fn)` returns it. */
export interface SqliteTransactionLike<T> {
  /** Run in a deferred transaction. */
  (): T;
  /** Run in a `BEGIN IMMEDIATE` transaction. */
  immediate(): T;
}

/** A prepared statement, as better-sqlite3 gives it. */
export interface SqliteStatementLike {
  /** Execute; returns the number of changed rows. */
  run(...params: unknown[]): SqliteRunResult;
  /** First row, or `undefined`. */
  get(...params: unknown[]): unknown;
  /** All rows. */
  all(...params: unknown[]): unknown[];
}

/** The part of a better-sqlite3 `Database` the adapter uses. */
export interface SqliteDatabaseLike {
  /** Prepare a statement. */
  prepare(sql: string): SqliteStatementLike;
  /** Run SQL text with no parameters. */
  exec(sql: string): unknown;
  /** Wrap a function in a transaction; `.immediate` takes the write lock at BEGIN. */
  transaction<T>(fn: () => T): SqliteTransactionLike<T>;
}

/** Thrown inside a step to roll everything back and answer `value` (a refusal writes nothing). */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/** A connection: cached statements and atomic steps. One per `Database`. */
export class Connection {
  private readonly statements = new Map<string, SqliteStatementLike>();
  private readonly listeners = new Set<() => void>();
  private recorded = false;

  /**
   * @param db - the better-sqlite3 database.
   * @param busyTimeoutMs - how long a write waits for another connection's lock (set on `db` by the adapter).
   */
  constructor(
    readonly db: SqliteDatabaseLike,
    readonly busyTimeoutMs: number,
  ) {}

  /** The prepared statement for `text` (prepared once per connection). */
  sql(text: string): SqliteStatementLike {
    let s = this.statements.get(text);
    if (s === undefined) this.statements.set(text, (s = this.db.prepare(text)));
    return s;
  }

  /** The first row of a query, or `undefined`. */
  one<T>(text: string, ...params: unknown[]): T | undefined {
    return this.sql(text).get(...params) as T | undefined;
  }

  /** Every row of a query. */
  all<T>(text: string, ...params: unknown[]): T[] {
    return this.sql(text).all(...params) as T[];
  }

  /** Run a statement; returns how many rows it changed. */
  run(text: string, ...params: unknown[]): number {
    return this.sql(text).run(...params).changes;
  }

  /**
   * One atomic step, synchronously: `BEGIN IMMEDIATE` (waiting up to the busy timeout for another
   * writer), `fn`, `COMMIT` — or `ROLLBACK` when `fn` throws. A thrown {@link Rollback} rolls back and
   * answers its value.
   */
  stepSync<T>(fn: () => T): T {
    this.recorded = false;
    try {
      const result = this.db.transaction(fn).immediate();
      if (this.recorded && this.listeners.size > 0) queueMicrotask(() => this.listeners.forEach((l) => l()));
      return result;
    } catch (error) {
      if (error instanceof Rollback) return error.value as T;
      throw error;
    } finally {
      this.recorded = false;
    }
  }

  /** Note that the current step recorded facts: listeners hear of it once the step commits. */
  factsRecorded(): void {
    this.recorded = true;
  }

  /** Tell `listener` after each step of this connection that recorded facts commits; returns a stop function. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** {@link Connection.stepSync} as a promise (rejected with the fault when it throws). */
  step<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.stepSync(fn));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A read: one statement sees one consistent snapshot of the file, so no transaction is needed. */
  read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** A list as one JSON parameter, for `IN (SELECT value FROM json_each(?))`. */
export function jsonList(values: readonly unknown[]): string {
  return JSON.stringify(values);
}

/** A position cursor (`pos` of the last row of a page): 0 for none, the position, or `null` when it is not one this adapter gave. */
export function parsePosition(after: string | null | undefined): number | null {
  if (after === undefined || after === null) return 0;
  return /^(0|[1-9][0-9]{0,14})$/.test(after) ? Number(after) : null;
}

/** A page from rows read in position order with `LIMIT limit + 1`: the first `limit`, and the cursor when there are more. */
export function positionPage<R extends { pos: number }, T>(rows: readonly R[], limit: number, after: number, map: (row: R) => T): { rows: T[]; cursor: string | null } {
  const page = rows.slice(0, limit);
  return { rows: page.map(map), cursor: rows.length > limit ? String(page.at(-1)?.pos ?? after) : null };
}

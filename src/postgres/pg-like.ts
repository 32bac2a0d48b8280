/**
 * The smallest structural view of `pg` this adapter needs, so nobody has to install `pg` to use the
 * rest of the library (and any compatible client works). A `pg.Pool` satisfies {@link PgPoolLike}.
 * @module
 */

/** A query result: the rows and the affected-row count. */
export interface PgResultLike<R> {
  /** Rows returned. */
  readonly rows: R[];
  /** Rows affected or returned. */
  readonly rowCount: number | null;
}

/** A connection checked out of the pool. */
export interface PgClientLike {
  /**
   * Run one statement with `$1…` parameters; or, given no parameters, several statements separated by
   * `;` in one round trip (PostgreSQL's simple query protocol, as `pg` sends a query without values),
   * answering with one result per statement. The adapter saves round trips that way (a transaction's
   * BEGIN goes with its locks and first read, its facts with COMMIT).
   */
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>>;
  /** Give the connection back; pass an error (or `true`) to destroy it instead. */
  release(destroy?: Error | boolean): void;
  /**
   * Listen for the connection failing (`pg` clients are EventEmitters and emit `error` when their
   * backend dies; with no listener that would crash the process). While the adapter holds a client it
   * listens, and a client that failed is released with the error, never returned to the pool healthy.
   * Optional: a client without it is simply not watched.
   */
  on?(event: "error", listener: (error: Error) => void): unknown;
  /** Stop listening (called when the adapter releases the client). Optional, see {@link PgClientLike.on}. */
  removeListener?(event: "error", listener: (error: Error) => void): unknown;
}

/** A connection pool (`pg.Pool`). */
export interface PgPoolLike {
  /** Check out a connection for a transaction. */
  connect(): Promise<PgClientLike>;
  /** Run one statement on any connection. */
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>>;
  /**
   * Listen for pool errors. A `pg.Pool` emits `error` when the backend of an IDLE pooled connection
   * dies (the pool has already dropped that connection); with no listener that would crash the
   * process, so the adapter adds one listener per pool that ignores it. Your own listeners still hear
   * every such error. Optional: a pool without it is not watched.
   */
  on?(event: "error", listener: (error: Error) => void): unknown;
}

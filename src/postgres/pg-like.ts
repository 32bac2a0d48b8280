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
  /** Run one statement with `$1…` parameters. */
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>>;
  /** Give the connection back; pass an error (or `true`) to destroy it instead. */
  release(destroy?: Error | boolean): void;
}

/** A connection pool (`pg.Pool`). */
export interface PgPoolLike {
  /** Check out a connection for a transaction. */
  connect(): Promise<PgClientLike>;
  /** Run one statement on any connection. */
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>>;
}

/**
 * Fewer round trips: statements without parameters can share one with others. A transaction's body
 * gets a {@link BatchingClient}, which sends `BEGIN` together with the body's first statement when that
 * one has no parameters (the campaign lock), and statements the body defers (the facts) together with
 * `COMMIT`. {@link literal} inlines a value safely for such statements.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { PgClientLike, PgResultLike } from "../pg-like.js";

/**
 * A string as a dollar-quoted SQL literal, for statements sent without parameters (so they can share a
 * round trip with others): the tag is chosen so that it does not occur in the text, which makes the
 * literal safe whatever the text and whatever `standard_conforming_strings` says.
 */
export function literal(text: string): string {
  // A random tag (48 bits): text cannot be written to contain it, so the check below almost never
  // repeats, and each check is one scan — linear time whatever the text (a fixed list of tags to try
  // in turn made text containing many of them quadratic). The closing tag must be the first place the
  // tag occurs after the opening one: not inside the text, nor straddling its end and the tag.
  let tag: string;
  do tag = `$sa_${randomBytes(6).toString("hex")}$`;
  while ((text + tag).indexOf(tag) !== text.length);
  return `${tag}${text}${tag}`;
}

/**
 * The result of the last statement of a query: `pg` answers a query of several statements (sent
 * without parameters) with one result per statement, as an array.
 */
export function lastResult<R>(results: PgResultLike<R> | PgResultLike<R>[]): PgResultLike<R> {
  return Array.isArray(results) ? results[results.length - 1]! : results;
}

/**
 * The client a transaction body gets: it saves round trips. `BEGIN` (with its lock timeout) is not sent
 * alone but with the body's first statement when that one has no parameters (the campaign lock:
 * `locks.ts` inlines its keys), and statements {@link deferToCommit deferred} by the body (the facts:
 * `facts.ts`) go with `COMMIT`. Statements with parameters go one per round trip, as before.
 */
export class BatchingClient implements PgClientLike {
  private begun = false;
  private readonly tail: string[] = [];

  constructor(
    readonly raw: PgClientLike,
    private readonly first: string,
  ) {}

  /** True once `BEGIN` was sent. */
  get started(): boolean {
    return this.begun;
  }

  async query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgResultLike<R>> {
    if (!this.begun) {
      this.begun = true;
      if (values === undefined || values.length === 0) {
        // One round trip.
        return lastResult(await this.raw.query<R>(`${this.first};\n${text}`));
      }
      await this.raw.query(this.first);
    }
    return this.raw.query<R>(text, values);
  }

  /** Queue a statement without parameters to run just before COMMIT, in the same round trip. */
  defer(text: string): void {
    this.tail.push(text);
  }

  /** The deferred statements (and forget them). */
  takeTail(): string[] {
    return this.tail.splice(0);
  }

  release(destroy?: Error | boolean): void {
    this.raw.release(destroy);
  }
}

/**
 * Run `text` (no parameters) just before the COMMIT of the client's transaction, in the same round
 * trip, when the client is a transaction's {@link BatchingClient}; otherwise run it now.
 */
export async function deferToCommit(client: PgClientLike, text: string): Promise<void> {
  if (client instanceof BatchingClient) client.defer(text);
  else await client.query(text);
}

/**
 * Fewer round trips: statements without parameters can share one with others. A transaction's body
 * gets a {@link BatchingClient}, which sends `BEGIN` together with the body's first statement when that
 * one has no parameters (the campaign lock), and statements the body defers (the facts) together with
 * `COMMIT`. {@link literal} inlines a value safely for such statements.
 * @module
 */
import { customAlphabet } from "nanoid";
import type { PgClientLike, PgResultLike } from "../pg-like.js";

/** 10 random lowercase letters and digits (nanoid draws them from a pooled buffer: one claim inlines a dozen values). */
const randomTag = customAlphabet("0123456789abcdefghijklmnopqrstuvwxyz", 10);

/**
 * A string as a dollar-quoted SQL literal, for statements sent without parameters (so they can share a
 * round trip with others): the tag is chosen so that it does not occur in the text, which makes the
 * literal safe whatever the text and whatever `standard_conforming_strings` says.
 */
export function literal(text: string): string {
  // A random tag (52 bits): text cannot be written to contain it, so the check below almost never
  // repeats, and each check is one scan — linear time whatever the text (a fixed list of tags to try
  // in turn made text containing many of them quadratic). The closing tag must be the first place the
  // tag occurs after the opening one: not inside the text, nor straddling its end and the tag.
  let tag: string;
  do tag = `$sa_${randomTag()}$`;
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

/** A value as SQL text: a string as a {@link literal}, a safe integer in parentheses, an array as `ARRAY[…]`, `null` as NULL. */
function sqlValue(value: unknown): string {
  if (value === null) return "NULL";
  if (typeof value === "string") return literal(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return `(${value})`; // parentheses: `- (-1)`, never `--1`
  if (Array.isArray(value)) return value.length === 0 ? "'{}'" : `ARRAY[${value.map(sqlValue).join(", ")}]`;
  throw new TypeError(`cannot inline ${typeof value} into SQL`);
}

/**
 * A statement's `$1…$n` replaced by its `values` inlined as literals, so it can share a round trip with
 * others (see {@link BatchingClient}). One pass over `text`, which must hold no other `$<digit>`: the
 * adapter's statements quote their schema as letters, digits and `_`, and every user value is among
 * `values` (inlined text is never scanned again).
 */
export function inlineValues(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (!(i >= 0 && i < values.length)) throw new RangeError(`no value for $${n}`);
    return sqlValue(values[i]);
  });
}

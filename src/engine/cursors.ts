/**
 * Page cursors as the engine hands them out. An adapter's cursor is a position in its own format,
 * and an adapter reads a cursor it did not make as an empty page — which a host cannot tell from the
 * end of the list. So the engine wraps each adapter cursor with a check over the listing and the
 * query it continues (campaign or organization, filters): a cursor from another listing, another
 * query, or no listing at all is refused with `INVALID_INPUT`, nothing read. Cursors stay opaque and
 * URL-safe (`<base64url>.<check>`). The check catches mistakes, not forgery: a cursor someone forged
 * still reads only what its caller may read anyway.
 * @module
 */
import { AssignmentError } from "../errors.js";

/** FNV-1a over the UTF-16 code units of `text`, as 8 hex digits. */
function check(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** What a cursor is checked against: the listing's name and the query's identifying fields. */
function subject(listing: string, query: readonly unknown[], inner: string): string {
  return JSON.stringify([listing, query, inner]);
}

/** One listing's cursors for one query: unwrap the host's `cursor` to the adapter's, wrap the adapter's next one. */
export interface Pager {
  /** The adapter's cursor inside a host's `cursor`; `null` for the first page; `INVALID_INPUT` for any cursor this listing did not return for this query. */
  after(cursor: string | null | undefined): string | null;
  /** The cursor a host gets for the page after this one (`null` at the end). */
  next(inner: string | null): string | null;
}

/** The cursors of `listing` for the query identified by `query` (campaign or organization, filters). */
export function pager(listing: string, query: readonly unknown[]): Pager {
  return {
    after: (cursor) => afterCursor(listing, query, cursor),
    next: (inner) => (inner === null ? null : `${Buffer.from(inner, "utf8").toString("base64url")}.${check(subject(listing, query, inner))}`),
  };
}

function afterCursor(listing: string, query: readonly unknown[], cursor: string | null | undefined): string | null {
  if (cursor === null || cursor === undefined) return null;
  const dot = cursor.indexOf(".");
  const body = cursor.slice(0, dot);
  if (dot > 0 && /^[A-Za-z0-9_-]+$/.test(body)) {
    const inner = Buffer.from(body, "base64url").toString("utf8");
    // Only the canonical encoding: base64 lets the last character's unused bits differ.
    if (Buffer.from(inner, "utf8").toString("base64url") === body && cursor.slice(dot + 1) === check(subject(listing, query, inner))) return inner;
  }
  throw new AssignmentError(
    "INVALID_INPUT",
    `"cursor" must be the cursor a previous page of this same listing returned (same ${listing} query), or null for the first page.`,
    { details: { field: "cursor" } },
  );
}

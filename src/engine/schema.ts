/**
 * Declarative input schemas: one per public operation, built from small parsers. A schema checks an
 * input and returns it typed — every field validated, unknown fields refused — so the typed value
 * flows on and nothing is re-read by name. Every failure is `INVALID_INPUT` naming the field, thrown
 * before anything is read or written.
 * @module
 */
import { AssignmentError } from "../errors.js";
import { BATCH_SIZE_MAX, BATCH_SIZE_MIN } from "../core/policy.js";
import { parseClock } from "../core/time.js";

/** Longest id, name or key accepted, in UTF-16 code units. */
export const MAX_STRING_LENGTH = 1000;

/** A parser: the value of `field`, checked and typed, or an `INVALID_INPUT` error. */
export type Parser<T> = (value: unknown, field: string) => T;

/** The type a parser produces. */
export type Out<P> = P extends Parser<infer T> ? T : never;

/** A short description of a refused value: never its contents beyond 60 characters of a string (an input may hold phone numbers). */
function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 60)) + (value.length > 60 ? "…" : "");
  if (Array.isArray(value)) return `an array of ${value.length} ${value.length === 1 ? "entry" : "entries"}`;
  if (typeof value === "function") return "a function";
  if (typeof value === "object" && value !== null) return "an object";
  return typeof value === "symbol" ? "a symbol" : String(value);
}

/** Names or ids for an error message: the first `max`, each cut at 60 characters, and how many more (a message stays short whatever the input). */
export function listed(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).map((item) => describe(item));
  return items.length > max ? `${shown.join(", ")} and ${items.length - max} more` : shown.join(", ");
}

function fail(field: string, expected: string, value: unknown): never {
  const shown = describe(value);
  throw new AssignmentError("INVALID_INPUT", `"${field}" must be ${expected}; got ${shown}.`, { details: { field } });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string of well-formed Unicode with no NUL character (identifiers and strings, SPEC). */
export const wellFormed: Parser<string> = (value, field) => {
  if (typeof value !== "string") fail(field, "a string", value);
  if (value.includes("\u0000")) fail(field, "a string without NUL characters", value);
  if (LONE_SURROGATE.test(value)) fail(field, "well-formed Unicode (no lone surrogate)", value);
  return value;
};

/** An id, a name or a key: a non-empty well-formed string of at most {@link MAX_STRING_LENGTH} code units. */
export const text: Parser<string> = (value, field) => {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_STRING_LENGTH) {
    fail(field, `a non-empty string of at most ${MAX_STRING_LENGTH} characters`, value);
  }
  return wellFormed(value, field);
};

/** True or false. */
export const bool: Parser<boolean> = (value, field) => (typeof value === "boolean" ? value : fail(field, "true or false", value));

/** A whole number in [min, max]. */
export function int(min: number, max: number): Parser<number> {
  return (value, field) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : fail(field, `a whole number from ${min} to ${max}`, value);
}

/** A batch size: a whole number 1..5000 (O2, S1). */
export const batchSize: Parser<number> = int(BATCH_SIZE_MIN, BATCH_SIZE_MAX);

/** One of the listed strings. */
export function oneOf<const T extends string>(...allowed: T[]): Parser<T> {
  return (value, field) =>
    typeof value === "string" && (allowed as string[]).includes(value) ? (value as T) : fail(field, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, value);
}

/** A function (a callback the host passes). */
export function fn<F extends (...args: never[]) => unknown>(): Parser<F> {
  return (value, field) => (typeof value === "function" ? (value as F) : fail(field, "a function", value));
}

/** An `AbortSignal`. */
export const signal: Parser<AbortSignal> = (value, field) => (value instanceof AbortSignal ? value : fail(field, "an AbortSignal", value));

const zones = new Map<string, boolean>();

/** True for a time zone name `Intl` knows (an IANA name such as "America/Chicago"). */
export function isTimeZone(zone: string): boolean {
  let ok = zones.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    zones.set(zone, ok);
  }
  return ok;
}

/** An IANA time zone name. */
export const timeZone: Parser<string> = (value, field) =>
  typeof value === "string" && isTimeZone(value) ? value : fail(field, 'an IANA time zone name such as "America/Chicago"', value);

/** A local clock time "HH:MM", 00:00 to 24:00. */
export const clock: Parser<string> = (value, field) =>
  typeof value === "string" && parseClock(value) !== null ? value : fail(field, 'a local time "HH:MM" from "00:00" to "24:00"', value);

/** The value, or `undefined` when absent. */
export function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return (value, field) => (value === undefined ? undefined : parser(value, field));
}

/** The value, or `null` (given as `null`), or `undefined` when absent. */
export function nullable<T>(parser: Parser<T>): Parser<T | null | undefined> {
  return (value, field) => (value === undefined || value === null ? (value as null | undefined) : parser(value, field));
}

/** The value, or a default when absent. */
export function withDefault<T>(parser: Parser<T>, fallback: T): Parser<T> {
  return (value, field) => (value === undefined ? fallback : parser(value, field));
}

/** An array of values, with at least `min` and at most `max` entries. */
export function list<T>(parser: Parser<T>, options: { min?: number; max?: number } = {}): Parser<T[]> {
  const min = options.min ?? 1;
  const max = options.max ?? 100_000;
  return (value, field) => {
    if (!Array.isArray(value) || value.length < min || value.length > max) {
      fail(field, min > 0 ? `a non-empty array of at most ${max} entries` : `an array of at most ${max} entries`, value);
    }
    const out: T[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      try {
        out[i] = parser(value[i], field);
      } catch {
        out[i] = parser(value[i], `${field}[${i}]`); // fails again, naming the entry
      }
    }
    return out;
  };
}

/** One of two shapes: the first parser that accepts the value wins; the last one's error is reported. */
export function either<A, B>(a: Parser<A>, b: Parser<B>): Parser<A | B> {
  return (value, field) => {
    try {
      return a(value, field);
    } catch {
      return b(value, field);
    }
  };
}

/** A schema: a parser per field. */
export type Shape = Readonly<Record<string, Parser<unknown>>>;

/** The typed object a shape produces (fields whose parser may give `undefined` are optional). */
export type Parsed<S extends Shape> = { [K in keyof S as undefined extends Out<S[K]> ? never : K]: Out<S[K]> } & {
  [K in keyof S as undefined extends Out<S[K]> ? K : never]?: Out<S[K]>;
};

/** An object with exactly these fields: each parsed, any other field refused. */
export function object<S extends Shape>(shape: S): Parser<Parsed<S>> {
  return (value, field) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "an object", value);
    const input = value as Record<string, unknown>;
    const unknown = Object.keys(input).filter((k) => !Object.prototype.hasOwnProperty.call(shape, k));
    if (unknown.length > 0) {
      throw new AssignmentError("INVALID_INPUT", `Unknown field(s) in "${field}": ${listed(unknown)}.`, {
        details: { field: `${field}.${unknown[0]!.slice(0, 60)}` },
      });
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape)) {
      const parsed = shape[key]!(input[key], field === "input" ? key : `${field}.${key}`);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as Parsed<S>;
  };
}

/** Parse a whole operation's input. */
export function parse<S extends Shape>(shape: S, input: unknown): Parsed<S> {
  return object(shape)(input, "input");
}

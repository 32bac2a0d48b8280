/**
 * Input validation for the engine's public operations. Every check throws `INVALID_INPUT` with the
 * field name, before anything is read or written.
 * @module
 */
import { AssignmentError } from "../errors.js";
import { BATCH_SIZE_MAX, BATCH_SIZE_MIN, isValidBatchSize } from "../core/policy.js";
import { parseClock } from "../core/time.js";

/** Longest id or name accepted. */
export const MAX_STRING_LENGTH = 1000;

function fail(field: string, expected: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === "string" ? JSON.stringify(value.slice(0, 60)) : String(value);
  } catch {
    shown = typeof value;
  }
  throw new AssignmentError("INVALID_INPUT", `"${field}" must be ${expected}; got ${shown}.`, {
    details: { field },
  });
}

/** The input object itself. */
export function object(value: unknown, field = "input"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "an object", value);
  return value as Record<string, unknown>;
}

/**
 * A non-empty string of at most {@link MAX_STRING_LENGTH} UTF-16 code units (an id, a name, a key):
 * well-formed Unicode with no NUL character, so every adapter stores exactly what it was given.
 */
export function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_STRING_LENGTH) {
    fail(field, `a non-empty string of at most ${MAX_STRING_LENGTH} characters`, value);
  }
  return wellFormed(value, field);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string with no NUL character and no lone surrogate (identifiers and strings, SPEC). */
export function wellFormed(value: string, field: string): string {
  if (value.includes("\u0000")) fail(field, "a string without NUL characters", value);
  if (LONE_SURROGATE.test(value)) fail(field, "well-formed Unicode (no lone surrogate)", value);
  return value;
}

/** An optional {@link text}. */
export function optionalText(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : text(value, field);
}

/** A boolean. */
export function bool(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") fail(field, "true or false", value);
  return value;
}

/** An optional boolean. */
export function optionalBool(value: unknown, field: string): boolean | undefined {
  return value === undefined ? undefined : bool(value, field);
}

/** A whole number in [min, max]. */
export function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `a whole number from ${min} to ${max}`, value);
  }
  return value;
}

/** A batch size: a whole number 1..5000 (O2, S1). */
export function batchSize(value: unknown, field = "batchSize"): number {
  if (!isValidBatchSize(value)) fail(field, `a whole number from ${BATCH_SIZE_MIN} to ${BATCH_SIZE_MAX}`, value);
  return value;
}

/** One of the listed values. */
export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    fail(field, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`, value);
  }
  return value as T;
}

/** A non-empty array of {@link text} values (duplicates allowed; callers dedupe). */
export function textList(value: unknown, field: string, options: { allowEmpty?: boolean } = {}): string[] {
  if (!Array.isArray(value) || (!options.allowEmpty && value.length === 0)) {
    fail(field, options.allowEmpty ? "an array of ids" : "a non-empty array of ids", value);
  }
  return value.map((v, i) => text(v, `${field}[${i}]`));
}

const zoneCache = new Map<string, boolean>();

/** True for a time zone name `Intl` knows (an IANA name such as "America/Chicago"). */
export function isTimeZone(zone: string): boolean {
  let ok = zoneCache.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    zoneCache.set(zone, ok);
  }
  return ok;
}

/** An IANA time zone name, or `null`/absent. */
export function optionalTimeZone(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !isTimeZone(value)) fail(field, "an IANA time zone name or null", value);
  return value;
}

/** An IANA time zone name. */
export function timeZone(value: unknown, field: string): string {
  if (typeof value !== "string" || !isTimeZone(value)) fail(field, "an IANA time zone name such as \"America/Chicago\"", value);
  return value;
}

/** A local clock time "HH:MM", 00:00 to 24:00. */
export function clock(value: unknown, field: string): string {
  if (typeof value !== "string" || parseClock(value) === null) fail(field, 'a local time "HH:MM" from "00:00" to "24:00"', value);
  return value;
}

/** A function (a callback the host passes). */
export function fn<F extends (...args: never[]) => unknown>(value: unknown, field: string): F {
  if (typeof value !== "function") fail(field, "a function", value);
  return value as F;
}

/**
 * Time rules as pure functions (T1, T3, T4): local clock time in an IANA zone (through `Intl`, which
 * handles daylight-saving changes), texting hours, and which hand-out ranks a campaign's start and
 * end dates allow. No clock is read here: `now` comes in.
 * @module
 */
import type { CampaignSchedule } from "../types.js";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The last answer of {@link localMinutes} per zone, with the second it holds for: a zone's offset from
 * UTC is a whole number of seconds (and changes on a whole second), so its local minute cannot change
 * within a UTC second. Claims ask again and again in the same second; `formatToParts` costs about 50 µs.
 */
const lastMinutes = new Map<string, { second: number; minutes: number }>();

/** Minutes since local midnight in `zone` at the instant `now` (epoch ms). */
export function localMinutes(now: number, zone: string): number {
  const second = Math.floor(now / 1000);
  const last = lastMinutes.get(zone);
  if (last !== undefined && last.second === second) return last.minutes;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(now)) {
    if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
  }
  const minutes = (hour % 24) * 60 + minute;
  lastMinutes.set(zone, { second, minutes });
  return minutes;
}

/** Parse "HH:MM" (00:00–24:00) into minutes since midnight, or `null` if malformed. */
export function parseClock(value: string): number | null {
  const m = /^([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(value);
  if (m === null) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= 24 * 60 ? minutes : null;
}

/** True when the instant is inside the campaign's texting hours in its time zone (T1). Opening inclusive, closing exclusive. */
export function withinTextingHours(now: number, schedule: CampaignSchedule): boolean {
  const local = localMinutes(now, schedule.timeZone);
  return local >= parseClock(schedule.textingHoursStart)! && local < parseClock(schedule.textingHoursEnd)!;
}

/**
 * Hand-out ranks a claim may take at `now` (T3): before the campaign's start no initial messages go
 * out (no `not_started`); after its end only conversations with replies (`needs_reply`) are handed out.
 */
export function allowedRanks(now: number, schedule: CampaignSchedule): readonly (0 | 1 | 2)[] {
  if (schedule.endsAt !== null && now >= schedule.endsAt) return [0];
  if (schedule.startsAt !== null && now < schedule.startsAt) return [0, 2];
  return [0, 1, 2];
}

/** Longest idle limit accepted for stale release: 30 days of texting time. */
export const MAX_IDLE_MS = 30 * 24 * 3600_000;

/** Local minutes in a day. */
const DAY_MINUTES = 1440;

/** The minute walk's safety bound: at most 400 days back (texting hours of one minute a day still fit a 30-day limit). */
const WALK_LIMIT_MINUTES = 400 * DAY_MINUTES;

/** `x` modulo one day of minutes, in 0..1439. */
function dayMinute(x: number): number {
  return ((x % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
}

/**
 * A prefix count over local minutes: `textingBelow(b) - textingBelow(a)` is how many of the integers
 * a ≤ y < b, taken modulo 1440 as a minute of the day, fall inside [open, open + width).
 */
function textingBelow(n: number, open: number, width: number): number {
  const days = Math.floor(n / DAY_MINUTES);
  return days * width + Math.min(width, Math.max(0, n - days * DAY_MINUTES - open));
}

/**
 * T4: the instant from which a conversation untouched since then has been idle for `idleMs` of
 * *texting* time — the clock does not run outside the campaign's texting hours (DST handled by the
 * zone), so a conversation untouched since before the returned instant has been idle for at least
 * `idleMs`.
 *
 * Defined as a minute walk: from `now` floored to the minute, step back one real minute at a time,
 * count each minute whose local wall time (hour and minute in `schedule.timeZone`) is inside
 * [textingHoursStart, textingHoursEnd), and stop at the minute where `ceil(idleMs / 1 min)` have been
 * counted, or after 400 days. It is computed a day at a time instead of a minute at a time: while
 * the zone's UTC offset stays the same, the local minute of the day goes down by exactly one per real
 * minute, so a day of minutes is counted by arithmetic from the local minute at its start. One `Intl`
 * look-up at the far end of each day checks that prediction; if the local minute there differs, the
 * offset changed inside that day (a daylight-saving change of any size, a new standard offset), and a
 * binary search by minute finds the last minute on the old offset, after which counting resumes from
 * the first minute on the new one, read from `Intl`. Gaps and repeated hours are therefore counted
 * exactly as the walk counts them, by the wall time of each real minute; a change by whole days
 * (a skipped date) leaves every local minute as predicted and needs nothing. This assumes a zone never
 * changes its offset twice within one day (in the tz database the closest two changes are about four
 * days apart). About 400 look-ups for the longest walk instead of 576,000.
 */
export function idleCutoff(now: number, idleMs: number, schedule: CampaignSchedule): number {
  const minute = 60_000;
  const zone = schedule.timeZone;
  // A malformed clock (`null`) compared as 0 in the minute walk; keep that.
  const open = parseClock(schedule.textingHoursStart) ?? 0;
  const width = Math.max(0, (parseClock(schedule.textingHoursEnd) ?? 0) - open);
  const start = Math.floor(now / minute) * minute;
  let needed = Math.ceil(idleMs / minute);
  if (!(needed > 0)) return start;
  // Sample k is the instant `start - k minutes`; the walk looks at k = 1, 2, … in turn.
  let k = 1;
  let local = localMinutes(start - minute, zone);
  if (textingBelow(local + 1, open, width) - textingBelow(local, open, width) === 1 && --needed === 0) return start - minute;
  while (k < WALK_LIMIT_MINUTES) {
    const span = Math.min(DAY_MINUTES, WALK_LIMIT_MINUTES - k);
    let far = localMinutes(start - (k + span) * minute, zone);
    // Samples k+1 … k+steps follow the local minute of sample k down by one each.
    let steps = span;
    if (far !== dayMinute(local - span)) {
      let lo = 0;
      let hi = span;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        const at = localMinutes(start - (k + mid) * minute, zone);
        if (at === dayMinute(local - mid)) {
          lo = mid;
        } else {
          hi = mid;
          far = at;
        }
      }
      steps = lo;
    }
    const counted = textingBelow(local, open, width) - textingBelow(local - steps, open, width);
    if (counted >= needed) {
      // The first j samples hold `needed` texting minutes: the smallest such j.
      let lo = 0;
      let hi = steps;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (textingBelow(local, open, width) - textingBelow(local - mid, open, width) >= needed) hi = mid;
        else lo = mid;
      }
      return start - (k + hi) * minute;
    }
    needed -= counted;
    k += steps;
    local = far;
    if (steps < span) {
      // Sample k+1 is the first on the new offset; its local minute `far` came from `Intl`.
      k += 1;
      if (textingBelow(local + 1, open, width) - textingBelow(local, open, width) === 1 && --needed === 0) return start - k * minute;
    }
  }
  return start - WALK_LIMIT_MINUTES * minute;
}

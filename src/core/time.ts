/**
 * Time rules as pure functions (T1, T3): local clock time in an IANA zone (through `Intl`, which
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

/** Minutes since local midnight in `zone` at the instant `now` (epoch ms). */
export function localMinutes(now: number, zone: string): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatter(zone).formatToParts(now)) {
    if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
  }
  return (hour % 24) * 60 + minute;
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

/**
 * T4: the instant from which a conversation untouched since then has been idle for `idleMs` of
 * *texting* time — the clock does not run outside the campaign's texting hours. Walks back from `now`
 * a minute at a time, counting the minutes inside texting hours (DST handled by the zone), so a
 * conversation untouched since before the returned instant has been idle for at least `idleMs`.
 */
export function idleCutoff(now: number, idleMs: number, schedule: CampaignSchedule): number {
  const minute = 60_000;
  const open = parseClock(schedule.textingHoursStart)!;
  const close = parseClock(schedule.textingHoursEnd)!;
  let needed = Math.ceil(idleMs / minute);
  let t = Math.floor(now / minute) * minute;
  // At most 400 days back: texting hours of one minute a day still fit a 30-day limit.
  for (let steps = 0; needed > 0 && steps < 400 * 1440; steps++) {
    t -= minute;
    const local = localMinutes(t, schedule.timeZone);
    if (local >= open && local < close) needed--;
  }
  return t;
}

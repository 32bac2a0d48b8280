import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_IDLE_MS, idleCutoff, localMinutes, parseClock } from "../src/core/time.js";
import type { CampaignSchedule } from "../src/types.js";
import { numRuns } from "./numruns.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * The reference: the original minute-by-minute walk, kept as it was. From `now` floored to the minute,
 * step back a real minute at a time, count the minutes whose local wall time is inside texting hours,
 * stop when ceil(idleMs / 1 min) are counted or after 400 days.
 */
function minuteWalk(now: number, idleMs: number, schedule: CampaignSchedule): number {
  const open = parseClock(schedule.textingHoursStart)!;
  const close = parseClock(schedule.textingHoursEnd)!;
  let needed = Math.ceil(idleMs / MINUTE);
  let t = Math.floor(now / MINUTE) * MINUTE;
  for (let steps = 0; needed > 0 && steps < 400 * 1440; steps++) {
    t -= MINUTE;
    const local = localMinutes(t, schedule.timeZone);
    if (local >= open && local < close) needed--;
  }
  return t;
}

function schedule(timeZone: string, textingHoursStart: string, textingHoursEnd: string): CampaignSchedule {
  return { timeZone, textingHoursStart, textingHoursEnd, startsAt: null, endsAt: null };
}

/** Minutes since midnight as "HH:MM" (1440 is "24:00"). */
function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** Both functions on one input, with the input in the failure message. */
function expectSame(now: number, idleMs: number, s: CampaignSchedule): number {
  const expected = minuteWalk(now, idleMs, s);
  const actual = idleCutoff(now, idleMs, s);
  expect(
    actual,
    `${s.timeZone} ${s.textingHoursStart}-${s.textingHoursEnd} now=${new Date(now).toISOString()} idleMs=${idleMs}: walk ${new Date(expected).toISOString()}`,
  ).toBe(expected);
  return actual;
}

const ZONES = [
  "America/New_York",
  "Europe/London",
  "Australia/Lord_Howe", // 30-minute daylight-saving change
  "Asia/Kathmandu", // +05:45
  "Pacific/Chatham", // +12:45 / +13:45
  "America/St_Johns", // -03:30 / -02:30
  "UTC",
  "Pacific/Apia", // daylight saving until 2021
  "America/Santiago", // changes at local midnight
  "America/Havana", // changes at local midnight
  "Africa/Casablanca", // an hour back for Ramadan every year
  "Antarctica/Troll", // two-hour daylight-saving change
  "Europe/Dublin", // negative daylight saving in the tz database
  "Asia/Tehran", // daylight saving abolished in 2022
  "America/Scoresbysund", // standard offset changed in 2024
  "Australia/Adelaide", // +09:30 / +10:30
];

/** Texting hours: whole days, common hours, windows across the night's DST changes, 1-minute windows, and random ones. */
const hoursArb: fc.Arbitrary<[number, number]> = fc.oneof(
  fc.constantFrom<[number, number]>(
    [0, 1440],
    [540, 1260],
    [60, 180], // 01:00–03:00
    [120, 180], // 02:00–03:00
    [0, 60], // 00:00–01:00
    [1380, 1440], // 23:00–24:00
    [135, 165], // 02:15–02:45
    [90, 150], // 01:30–02:30
    [120, 121], // 02:00–02:01
    [0, 1],
    [1439, 1440],
  ),
  fc.integer({ min: 0, max: 1439 }).map((a): [number, number] => [a, a + 1]),
  fc
    .tuple(fc.integer({ min: 0, max: 1440 }), fc.integer({ min: 0, max: 1440 }))
    .filter(([a, b]) => a !== b)
    .map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]),
);

/** Idle limits: small ones most often, whole minutes and not, and some up to and at MAX_IDLE_MS. */
const idleArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: MINUTE, max: 6 * HOUR }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 * 1440 }).map((m) => m * MINUTE) },
  { weight: 1, arbitrary: fc.integer({ min: 3 * DAY, max: MAX_IDLE_MS }) },
  { weight: 1, arbitrary: fc.constant(MAX_IDLE_MS) },
);

/** Roughly how many minutes the reference walks (it is slow: about one `Intl` call per minute). */
function walkMinutes(idleMs: number, [open, close]: [number, number]): number {
  return Math.min(400 * 1440, Math.ceil(Math.ceil(idleMs / MINUTE) / (close - open) + 1) * 1440);
}

/** Days on which `zone`'s local clock jumps (a change of UTC offset), 2020–2035, found by comparing noons. */
const transitionCache = new Map<string, number[]>();
function transitionDays(zone: string): number[] {
  let days = transitionCache.get(zone);
  if (days === undefined) {
    days = [];
    let previous = localMinutes(Date.UTC(2020, 0, 1, 12), zone);
    for (let t = Date.UTC(2020, 0, 2, 12); t < Date.UTC(2036, 0, 1); t += DAY) {
      const local = localMinutes(t, zone);
      if (local !== previous) days.push(t);
      previous = local;
    }
    transitionCache.set(zone, days);
  }
  return days;
}

describe("core: stale release clock by day and time-zone change (T4)", () => {
  it("T4: idleCutoff equals the minute-by-minute walk for random instants 2020–2035, limits, texting hours and zones", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2036, 0, 1) - 1 }),
        idleArb,
        hoursArb,
        fc.constantFrom(...ZONES),
        (now, idleMs, hours, zone) => {
          fc.pre(walkMinutes(idleMs, hours) <= 120_000);
          expectSame(now, idleMs, schedule(zone, clock(hours[0]), clock(hours[1])));
        },
      ),
      { numRuns: numRuns(40) },
    );
  });

  it("T4: idleCutoff equals the minute-by-minute walk just after daylight-saving changes, in both directions", () => {
    const dstZones = ZONES.filter((zone) => transitionDays(zone).length > 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...dstZones),
        fc.nat(),
        fc.integer({ min: -DAY, max: 3 * DAY }),
        fc.oneof({ weight: 4, arbitrary: fc.integer({ min: MINUTE, max: 4 * HOUR }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 * 1440 }).map((m) => m * MINUTE) }),
        hoursArb,
        (zone, pick, offset, idleMs, hours) => {
          fc.pre(walkMinutes(idleMs, hours) <= 30_000);
          const days = transitionDays(zone);
          const now = days[pick % days.length]! + offset;
          expectSame(now, idleMs, schedule(zone, clock(hours[0]), clock(hours[1])));
        },
      ),
      { numRuns: numRuns(60) },
    );
  });

  it("T4: New York, clocks back: the repeated 01:00–02:00 counts twice, by real minutes", () => {
    const s = schedule("America/New_York", "01:00", "03:00");
    // 1 Nov 2026: 02:00 EDT (06:00 UTC) becomes 01:00 EST. From 02:30 EST (07:30 UTC) back to 01:00 EDT
    // (05:00 UTC): 30 + 60 + 60 minutes inside 01:00–03:00.
    const now = Date.UTC(2026, 10, 1, 7, 30);
    expect(expectSame(now, 150 * MINUTE, s)).toBe(Date.UTC(2026, 10, 1, 5, 0));
    // One more minute reaches back to 02:59 EDT the night before (06:59 UTC on 31 Oct).
    expect(expectSame(now, 151 * MINUTE, s)).toBe(Date.UTC(2026, 9, 31, 6, 59));
    expect(expectSame(now, 149 * MINUTE + 1, s)).toBe(Date.UTC(2026, 10, 1, 5, 0));
    expect(expectSame(now, 90 * MINUTE, s)).toBe(Date.UTC(2026, 10, 1, 6, 0));
  });

  it("T4: New York, clocks forward: the missing 02:00–03:00 is never counted", () => {
    const s = schedule("America/New_York", "01:00", "03:00");
    // 8 Mar 2026: 02:00 EST (07:00 UTC) becomes 03:00 EDT; only 01:00–01:59 EST (06:00–06:59 UTC) that night.
    const now = Date.UTC(2026, 2, 8, 12, 0);
    expect(expectSame(now, 60 * MINUTE, s)).toBe(Date.UTC(2026, 2, 8, 6, 0));
    // The 61st minute is 02:59 EST on the 7th (07:59 UTC).
    expect(expectSame(now, 61 * MINUTE, s)).toBe(Date.UTC(2026, 2, 7, 7, 59));
    // A window wholly inside the gap is skipped that night.
    expect(expectSame(now, MINUTE, schedule("America/New_York", "02:00", "02:30"))).toBe(Date.UTC(2026, 2, 7, 7, 29));
  });

  it("T4: 30- and 45-minute zones and odd offsets agree with the walk at their changes", () => {
    const cases: [string, number][] = [
      ["Australia/Lord_Howe", Date.UTC(2026, 9, 4, 3)], // 02:00 → 02:30 on 4 Oct 2026 (15:00 UTC on the 3rd)
      ["Australia/Lord_Howe", Date.UTC(2026, 3, 5, 3)], // 02:00 → 01:30 on 5 Apr 2026
      ["Pacific/Chatham", Date.UTC(2026, 8, 27, 3)], // 02:45 → 03:45 on 27 Sep 2026
      ["Pacific/Chatham", Date.UTC(2026, 3, 5, 3)], // 03:45 → 02:45 on 5 Apr 2026
      ["America/St_Johns", Date.UTC(2026, 2, 8, 12)],
      ["America/St_Johns", Date.UTC(2026, 10, 1, 12)],
      ["Asia/Kathmandu", Date.UTC(2026, 5, 1, 3, 17, 45)],
      ["Pacific/Apia", Date.UTC(2020, 8, 27, 3)], // its last daylight-saving start
      ["Pacific/Apia", Date.UTC(2021, 3, 4, 3)], // and end
      ["America/Santiago", Date.UTC(2026, 8, 6, 12)], // 24:00 → 01:00: no local midnight that day
      ["America/Havana", Date.UTC(2026, 10, 1, 12)],
    ];
    for (const [zone, now] of cases) {
      for (const [open, close] of [["00:00", "24:00"], ["01:00", "03:00"], ["02:00", "02:01"], ["00:00", "00:30"], ["23:30", "24:00"]] as const) {
        for (const idleMs of [MINUTE, 45 * MINUTE + 1, 2 * HOUR, 26 * HOUR]) {
          if (walkMinutes(idleMs, [parseClock(open)!, parseClock(close)!]) <= 50_000) expectSame(now, idleMs, schedule(zone, open, close));
        }
      }
    }
  });

  it("T4: a skipped calendar day and a local offset with seconds are counted by real minutes", () => {
    // Samoa skipped 30 Dec 2011 (-10:00 → +14:00): a whole-day jump leaves the local minute unchanged.
    for (const idleMs of [HOUR, DAY, 3 * DAY]) expectSame(Date.UTC(2011, 11, 31, 3), idleMs, schedule("Pacific/Apia", "00:00", "24:00"));
    expectSame(Date.UTC(2011, 11, 31, 3), 5 * HOUR, schedule("Pacific/Apia", "09:00", "21:00"));
    // New York left local mean time (-04:56:02) for -05:00 at noon on 18 Nov 1883.
    for (const [open, close] of [["11:55", "12:05"], ["00:00", "24:00"], ["12:00", "12:01"]] as const) {
      expectSame(Date.UTC(1883, 10, 18, 20), 2 * HOUR, schedule("America/New_York", open, close));
    }
  });

  it("T4: 30-day limits agree with the walk", () => {
    expectSame(Date.UTC(2026, 10, 3, 15, 0), MAX_IDLE_MS, schedule("America/New_York", "09:00", "21:00"));
    expectSame(Date.UTC(2025, 3, 1, 0, 0, 30), MAX_IDLE_MS, schedule("Europe/London", "00:00", "24:00"));
    expectSame(Date.UTC(2030, 9, 20, 7, 7), MAX_IDLE_MS - 1, schedule("Pacific/Chatham", "08:00", "22:00"));
  });

  it("T4: the 400-day bound, empty and inverted hours, and limits of a minute or less match the walk", () => {
    const now = Date.UTC(2026, 5, 1, 12, 1, 30);
    const start = Date.UTC(2026, 5, 1, 12, 1);
    // One minute a day (12:00 UTC), the latest at start - 1 min: 400 of them fit in 400 days, 401 do not.
    expect(idleCutoff(now, 400 * MINUTE, schedule("UTC", "12:00", "12:01"))).toBe(start - (1 + 399 * 1440) * MINUTE);
    expect(idleCutoff(now, 401 * MINUTE, schedule("UTC", "12:00", "12:01"))).toBe(start - 400 * DAY);
    expect(idleCutoff(now, MAX_IDLE_MS, schedule("Asia/Kathmandu", "12:00", "12:01"))).toBe(start - 400 * DAY);
    // Hours that never open: the walk gives up after 400 days.
    for (const [open, close] of [["10:00", "10:00"], ["21:00", "09:00"], ["24:00", "24:00"]] as const) {
      expect(idleCutoff(now, MINUTE, schedule("America/New_York", open, close))).toBe(start - 400 * DAY);
    }
    // Nothing to wait for: the minute `now` is in.
    for (const idleMs of [0, -5, Number.NaN]) expect(idleCutoff(now, idleMs, schedule("UTC", "00:00", "24:00"))).toBe(start);
    expect(expectSame(now, 1, schedule("UTC", "00:00", "24:00"))).toBe(start - MINUTE);
    expect(expectSame(now, MINUTE + 1, schedule("UTC", "00:00", "24:00"))).toBe(start - 2 * MINUTE);
  });

  it("T1, T4: localMinutes answers as Intl does at every instant, also when asked again within a second, across offset changes and offsets with seconds", () => {
    // localMinutes remembers its last answer per zone for the UTC second it holds for: checked here
    // against a fresh Intl reading, for runs of instants a few hundred ms apart (many in one second).
    const fresh = (now: number, zone: string) => {
      const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(now);
      const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
      return (get("hour") % 24) * 60 + get("minute");
    };
    const bases = [
      Date.UTC(1883, 10, 18, 16, 56, 1), // New York: local mean time (-04:56:02) until noon local, 16:56:02 UTC
      Date.UTC(2026, 2, 8, 6, 59, 59), // New York: clocks forward at 07:00 UTC
      Date.UTC(2026, 10, 1, 5, 59, 59), // New York: clocks back at 06:00 UTC
      Date.UTC(2026, 3, 4, 15, 29, 59), // Lord Howe: 30 minutes back at 15:00 UTC
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.constantFrom("America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"),
        fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 20 }),
        (base, zone, steps) => {
          let t = base;
          for (const step of steps) {
            t += step;
            expect(localMinutes(t, zone), `${zone} at ${new Date(t).toISOString()}`).toBe(fresh(t, zone));
          }
        },
      ),
      { numRuns: numRuns(200) },
    );
  });
});


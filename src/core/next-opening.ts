/**
 * When texting hours next open (T1, T2), for a bulk send that has to wait. Pure: `now` comes in.
 * @module
 */
import type { CampaignSchedule } from "../types.js";
import { localMinutes, parseClock, withinTextingHours } from "./time.js";

const MINUTE = 60_000;

/**
 * The first instant at or after `now` inside the schedule's texting hours (minute-aligned when `now`
 * is outside them). Jumps to the local opening time, then corrects for a daylight-saving change in
 * between (an opening inside a skipped hour opens when the clock jumps past it).
 */
export function nextOpening(now: number, schedule: Pick<CampaignSchedule, "timeZone" | "textingHoursStart" | "textingHoursEnd">): number {
  if (withinTextingHours(now, schedule as CampaignSchedule)) return now;
  const open = parseClock(schedule.textingHoursStart)!;
  const within = (t: number) => withinTextingHours(t, schedule as CampaignSchedule);
  let t = Math.floor(now / MINUTE) * MINUTE;
  for (let jumps = 0; jumps < 8 && !within(t); jumps++) {
    const local = localMinutes(t, schedule.timeZone);
    const wait = local < open ? open - local : 1440 - local + open;
    t += wait * MINUTE;
  }
  // A daylight-saving change can make the jump overshoot: step back to the first open minute.
  for (let steps = 0; steps < 240 && t - MINUTE > now && within(t - MINUTE); steps++) t -= MINUTE;
  // And undershoot (clocks went back): step on to it.
  for (let steps = 0; steps < 240 && !within(t); steps++) t += MINUTE;
  return t;
}

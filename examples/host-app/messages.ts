/**
 * What the texter and the admin are told. selfassign answers *Request Conversations* and invite joins
 * with a reason code (a refusal is an answer, not an error) and throws `AssignmentError` with a stable
 * code for the rest; turning those into words people understand is the host's job.
 */
import { isAssignmentError, type Campaign, type JoinRefusalReason, type RefusalReason } from "selfassign";

/** The campaign's first message (a real app keeps a script per campaign, with the contact's name). */
export function initialMessage(texterId: string | null): string {
  return `Hi! This is ${texterId ?? "the team"} with Vote Org. Polls are open Tuesday 7am–8pm: can we count on your vote?`;
}

/** Local "HH:MM" in a time zone, and minutes since local midnight. */
function localTime(now: number, zone: string): { text: string; minutes: number } {
  const text = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(now);
  const [h, m] = text.split(":").map(Number) as [number, number];
  return { text, minutes: h * 60 + m };
}

/** "in 3 h 20 min": how long until texting opens (approximate across a daylight-saving change). */
export function opensIn(campaign: Campaign, now: number): string {
  const { minutes } = localTime(now, campaign.schedule.timeZone);
  const [h, m] = campaign.schedule.textingHoursStart.split(":").map(Number) as [number, number];
  const open = h * 60 + m;
  const wait = minutes < open ? open - minutes : 1440 - minutes + open;
  return wait >= 60 ? `in ${Math.floor(wait / 60)} h ${wait % 60} min` : `in ${wait} min`;
}

/** One line about the texting hours: "09:00–21:00 America/New_York (now 23:10 there)". */
export function hoursLine(campaign: Campaign, now: number): string {
  const s = campaign.schedule;
  return `${s.textingHoursStart}–${s.textingHoursEnd} ${s.timeZone} (now ${localTime(now, s.timeZone).text} there)`;
}

/** Why *Request Conversations* was refused, in words (S2, S5, S7, T1). */
export function refusalMessage(reason: RefusalReason, campaign: Campaign, now: number): string {
  const sa = campaign.selfAssignment;
  switch (reason) {
    case "campaign_not_active":
      return campaign.status === "paused"
        ? "This campaign is paused: no conversations are handed out until an admin resumes it."
        : campaign.status === "draft"
          ? "This campaign has not been launched yet."
          : "This campaign is archived: it hands out nothing any more.";
    case "self_assignment_disabled":
      return "Self assignment is turned off for this campaign. Ask an admin to assign you conversations.";
    case "not_a_sender":
      return "You are not a texter on this campaign. Join it with its invite link.";
    case "outside_texting_hours":
      return `Outside texting hours: ${hoursLine(campaign, now)}. Texting opens at ${campaign.schedule.textingHoursStart} (${opensIn(campaign, now)}); press the button again then.`;
    case "batch_unfinished":
      return sa.gate === "no-pending-work"
        ? "Finish your current batch first: send every first message and answer every reply, then request more."
        : "Finish your current batch first: send the first message to every conversation you hold, then request more.";
    case "cap_reached":
      return `You hold ${sa.maxHeldPerTexter} conversations, the most one texter may hold in this campaign. Finish some and ask an admin if you need more.`;
    case "nothing_available":
      return "Nothing to hand out right now: every conversation is assigned or done. Replies that come in later go to whoever holds them.";
  }
}

/** Why an invite join was refused (L2, T1). The campaign is unknown here: a wrong token reveals none. */
export function joinRefusalMessage(reason: JoinRefusalReason): string {
  switch (reason) {
    case "invalid_token":
      return "This invite link is not valid. Check that you copied all of it.";
    case "token_revoked":
      return "This invite link was turned off. Ask an admin for the current one.";
    case "not_a_member":
      return "You are not a member of this organization yet. Ask an admin to add you, then follow the link again.";
    case "campaign_not_active":
      return "This campaign is not running (not launched yet, paused or archived). Try the link again later.";
    case "self_assignment_disabled":
      return "Self assignment is turned off for this campaign, so its invite link cannot be used now.";
    case "outside_texting_hours":
      return "Outside the campaign's texting hours. The same link works when texting opens: follow it again then.";
  }
}

/** An error for a person: `AssignmentError` messages say what to do; anything else is our fault. */
export function errorMessage(error: unknown): string {
  if (!isAssignmentError(error)) return "Something went wrong on our side; it has been logged.";
  switch (error.code) {
    case "NOT_AUTHORIZED":
      return "Only the organization's owners and admins may do that.";
    case "TIMEOUT":
    case "ABORTED":
      return "The system is busy; nothing was changed. Please try again.";
    case "STORAGE_ERROR":
      return "The database did not answer; nothing was changed. Please try again.";
    default:
      return error.message;
  }
}

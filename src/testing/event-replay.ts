/**
 * Replays the event log to rebuild who holds what, refusing any event that contradicts the state
 * before it (an `assigned` for a conversation somebody holds is a double assignment, I1). Comparing
 * the replay with persisted state proves the events describe exactly the changes that happened.
 * @module
 */
import type { SelfAssignEvent } from "../types.js";

/**
 * Apply one event to `holders` (conversation id → holder, a missing entry meaning unassigned); throws
 * when the event contradicts the holders before it. Events of other campaigns are ignored.
 */
export function applyEvent(holders: Map<string, string | null>, e: SelfAssignEvent, campaignId: string): void {
  if (e.campaignId !== campaignId) return;
  const holderOf = (id: string) => holders.get(id) ?? null;
  switch (e.type) {
    case "conversations.assigned":
      for (const id of e.data.conversationIds) {
        if (holderOf(id) !== null) throw new Error(`I1: event ${e.seq} assigns ${id} to ${e.data.texterId}, but ${holderOf(id)} holds it`);
        holders.set(id, e.data.texterId);
      }
      break;
    case "conversations.unassigned":
      for (const id of e.data.conversationIds) {
        if (holderOf(id) !== e.data.texterId) throw new Error(`event ${e.seq} unassigns ${id} from ${e.data.texterId}, but ${holderOf(id)} holds it`);
        holders.set(id, null);
      }
      break;
    case "conversations.reassigned":
      for (const m of e.data.moves) {
        if (holderOf(m.conversationId) !== m.fromTexterId) {
          throw new Error(`event ${e.seq} moves ${m.conversationId} from ${m.fromTexterId}, but ${holderOf(m.conversationId)} holds it`);
        }
        holders.set(m.conversationId, e.data.toTexterId);
      }
      break;
    default:
      break;
  }
}

/** Holder by conversation id, rebuilt from events; throws on a contradiction. */
export function replayHolders(events: readonly SelfAssignEvent[], campaignId: string): Map<string, string | null> {
  const holders = new Map<string, string | null>();
  for (const e of events) applyEvent(holders, e, campaignId);
  return holders;
}

/** Every event in the log (paged through `read`). */
export async function readAllEvents(
  read: (after: number, limit: number) => Promise<readonly SelfAssignEvent[]>,
): Promise<SelfAssignEvent[]> {
  const all: SelfAssignEvent[] = [];
  for (;;) {
    const page = await read(all.length === 0 ? 0 : all[all.length - 1]!.seq, 10_000);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

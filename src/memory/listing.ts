/**
 * Listings of the in-memory adapter: a page of a campaign's conversations in hand-out order after a
 * cursor, filtered by holder, status or ids.
 * @module
 */
import type { StatusSet } from "../core/moves.js";
import { cursorOf, inStatusSet, orderRank, parseCursor } from "../storage/rules.js";
import type { ConversationStatus } from "../types.js";
import { CONVERSATION_STATUSES } from "../types.js";
import type { CampaignTable } from "./campaign-table.js";

/** Which slots a listing wants (see `ConversationQuery`). */
export interface SlotQuery {
  /** Held by this user; `null` = unassigned; `undefined` = any. */
  readonly holder: string | null | undefined;
  /** Status filter. */
  readonly statuses: StatusSet;
  /** Exact status, or `undefined`. */
  readonly status: ConversationStatus | undefined;
  /** Only these slots, or `undefined`. */
  readonly slots: readonly number[] | undefined;
  /** After this cursor, or `null`. */
  readonly after: string | null;
  /** Most rows. */
  readonly limit: number;
}

/**
 * A page of slots for a listing, in hand-out order, and the cursor of the next page. Without a holder
 * or ids it walks the slots rank by rank from the cursor (skipping empty ranks), so a page costs
 * O(what it passes over), not a sort of the campaign.
 */
export function listSlots(table: CampaignTable, q: SlotQuery): { slots: number[]; cursor: string | null } {
  const wanted = (slot: number) => {
    const status = CONVERSATION_STATUSES[table.codeOf(slot)]!;
    return (q.holder === undefined || table.holderOf(slot) === q.holder) && inStatusSet(q.statuses, status) && (q.status === undefined || status === q.status);
  };
  const after = q.after === null ? null : parseCursor(q.after);
  if (q.after !== null && after === null) return { slots: [], cursor: null }; // not one of our cursors: nothing after it
  const past = (s: number) => after === null || isPast(table, s, after);
  let found: number[];
  if (q.slots !== undefined || typeof q.holder === "string") {
    const base = q.slots !== undefined ? [...new Set(q.slots)].filter((s) => s >= 0 && s < table.size) : table.heldSlots([q.holder as string], q.statuses);
    found = table.sortHandOut(base.filter((s) => wanted(s) && past(s))).slice(0, q.limit + 1);
  } else {
    found = [];
    const present = table.presentRanks();
    for (let rank = after?.rank ?? 0; rank <= 4 && found.length <= q.limit; rank++) {
      if (!present.has(rank)) continue;
      const from = rank === 0 ? 0 : after !== null && rank === after.rank ? after.seq + 1 : 0;
      const inRank: number[] = [];
      for (let s = from; s < table.size && (rank === 0 || found.length + inRank.length <= q.limit); s++) {
        if (orderRank(CONVERSATION_STATUSES[table.codeOf(s)]!) === rank && wanted(s) && past(s)) inRank.push(s);
      }
      found.push(...(rank === 0 ? table.sortHandOut(inRank) : inRank).slice(0, q.limit + 1 - found.length));
    }
  }
  const page = found.slice(0, q.limit);
  return { slots: page, cursor: found.length > q.limit ? cursorOf(table.conversation(page[page.length - 1]!)) : null };
}

/** True when a slot comes after a cursor in hand-out order. */
function isPast(table: CampaignTable, s: number, c: { rank: number; sortKey: number; seq: number }): boolean {
  const rank = orderRank(CONVERSATION_STATUSES[table.codeOf(s)]!);
  if (rank !== c.rank) return rank > c.rank;
  const key = rank === 0 ? table.replyAtOf(s) : s;
  return key !== c.sortKey ? key > c.sortKey : s > c.seq;
}


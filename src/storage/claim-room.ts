/**
 * The claim's checks on what the texter already holds (L3 "holding none", S5 gate, S7 cap), shared by
 * the in-memory and PostgreSQL adapters. Adapters call it inside their atomic step, with counts read in
 * that step.
 * @module
 */
import type { ClaimRequest } from "./contract.js";

/** What a texter holds in the campaign. */
export interface HeldCounts {
  /** Conversations held, any status. */
  readonly held: number;
  /** Held and `not_started`. */
  readonly notStarted: number;
  /** Held and `needs_reply`. */
  readonly needsReply: number;
}

/** A claim is blocked for a reason, or may take up to `room` conversations. */
export type ClaimRoom =
  | { readonly kind: "blocked"; readonly reason: "batch_unfinished" | "cap_reached" | "holding" }
  | { readonly kind: "room"; readonly room: number };

/** Decide, in the order the contract gives: holding none, the gate, then the cap. */
export function claimRoom(req: Pick<ClaimRequest, "onlyIfHoldingNone" | "gate" | "maxHeld" | "limit">, counts: HeldCounts): ClaimRoom {
  if (req.onlyIfHoldingNone && counts.held > 0) return { kind: "blocked", reason: "holding" };
  const { maxNotStarted, maxNeedsReply } = req.gate;
  if ((maxNotStarted !== null && counts.notStarted > maxNotStarted) || (maxNeedsReply !== null && counts.needsReply > maxNeedsReply)) {
    return { kind: "blocked", reason: "batch_unfinished" };
  }
  const room = req.maxHeld === null ? req.limit : Math.min(req.limit, req.maxHeld - counts.held);
  return room <= 0 ? { kind: "blocked", reason: "cap_reached" } : { kind: "room", room };
}

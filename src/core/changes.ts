/**
 * What a decision asks storage to do, as data: roster changes and the plans of campaign and
 * organization decisions. Storage executes a plan in one atomic step (see the contract).
 * @module
 */
import type { Campaign, EventDraft, Organization, Role } from "../types.js";
import type { MoveSpec } from "./moves.js";

/** Who acts, and their role in the organization (`null`: not a member). */
export interface Actor {
  /** The user id. */
  readonly id: string;
  /** Their role, or `null`. */
  readonly role: Role | null;
}

/** A member to add: a user and a role. */
export interface NewMember {
  /** The user. */
  readonly userId: string;
  /** Their role. */
  readonly role: Role;
}

/** A change to an organization's member rows (O1). Never a version check; the rules are checked inside the step. */
export type MemberChange =
  | {
      /** Add each user who is not a member yet, with the given role. Existing members are left as they are. */
      readonly kind: "add";
      /** Users and roles, no user twice. */
      readonly members: readonly NewMember[];
    }
  | {
      /** Change a member's role; refused with `not_a_member`, or `last_owner` when it would leave no owner. */
      readonly kind: "set_role";
      /** The member. */
      readonly userId: string;
      /** The new role. */
      readonly role: Role;
    }
  | {
      /** Remove a member; refused with `not_a_member`, `last_owner`, or `a_sender` while a sender on a campaign that is not archived. */
      readonly kind: "remove";
      /** The member. */
      readonly userId: string;
    };

/** A change to a campaign's sender rows (C3). Never a version check. */
export type SenderChange =
  | {
      /** Add each user who is not a sender yet, in the order given; all must be members (else refused with `not_members`). */
      readonly kind: "add";
      /** The users, no user twice. */
      readonly userIds: readonly string[];
      /** How they were added. */
      readonly via: "admin" | "invite";
    }
  | {
      /** Remove a sender; refused with `not_senders` when they are not one. */
      readonly kind: "remove";
      /** The sender. */
      readonly userId: string;
    };

/** What a campaign decision asks storage to commit: the next aggregate, a sender change, moves, and the facts known up front. */
export interface CampaignPlan {
  /** The next aggregate, or `null` when it does not change. */
  readonly next: Campaign | null;
  /** A change to the senders, or `null`. */
  readonly senders: SenderChange | null;
  /** Bulk moves, in order. */
  readonly moves: readonly MoveSpec[];
  /** Facts known before the step (the step adds those its results imply). */
  readonly facts: readonly EventDraft[];
}

/** What an organization decision asks storage to commit. */
export interface OrganizationPlan {
  /** The next aggregate, or `null` when it does not change. */
  readonly next: Organization | null;
  /** A change to the members, or `null`. */
  readonly members: MemberChange | null;
  /** Facts known before the step. */
  readonly facts: readonly EventDraft[];
}

/** A plan that changes nothing. */
export const NOTHING: CampaignPlan = { next: null, senders: null, moves: [], facts: [] };

/** True when a campaign plan changes nothing. */
export function isEmpty(plan: CampaignPlan): boolean {
  return plan.next === null && plan.senders === null && plan.moves.length === 0 && plan.facts.length === 0;
}

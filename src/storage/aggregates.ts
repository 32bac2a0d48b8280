/**
 * Contract, part 1: the aggregates (organizations and campaigns) and their rosters (members and
 * senders). Aggregates are small versioned documents for settings and lifecycle; rosters are sets of
 * rows, changed one row at a time and never version-checked, so joins and adds never conflict with
 * each other or with claims (DESIGN.md, "Scale rules").
 * @module
 */
import type { Campaign, Member, Organization, Role, Sender } from "../types.js";
import type { Fact, FactContext } from "./facts.js";
import type { MoveSpec, Moved } from "../core/moves.js";
import type { MemberChange, SenderChange } from "../core/changes.js";

export type { MemberChange, SenderChange } from "../core/changes.js";

/**
 * One atomic change to an organization: a new or replaced aggregate and/or member rows.
 * Facts to record: `facts`, plus those of the member change ({@link memberFacts}).
 */
export interface OrganizationCommit {
  /** The organization. */
  readonly orgId: string;
  /**
   * With `next`: `null` inserts it as a new organization (`exists` if the id is taken); a number is
   * the version the engine decided on, and a different stored version means `conflict`, nothing
   * written. Without `next` (a member change only) it is ignored: member rows are never versioned, and
   * only the organization's existence is checked (`conflict` when it does not exist).
   */
  readonly expectedVersion: number | null;
  /** The new aggregate (its `version` is one more than `expectedVersion`; 1 when inserting), or `null` to leave it. */
  readonly next: Organization | null;
  /** A change to the member rows, or `null`. */
  readonly members: MemberChange | null;
  /** Facts known before the step (organization created, settings changed). */
  readonly facts: readonly Fact[];
  /** Who and when, for the facts the step's results imply. */
  readonly context: FactContext;
}

/** Result of {@link StorageAdapter.commitOrganization}. */
export type OrganizationOutcome =
  | {
      /** An insert found the id taken; nothing written. */
      readonly kind: "exists";
    }
  | {
      /** The stored version differed, or the organization does not exist; nothing written. */
      readonly kind: "conflict";
    }
  | {
      /** The member change broke a rule; nothing written. */
      readonly kind: "refused";
      /** Which rule. */
      readonly reason: "not_a_member" | "last_owner" | "a_sender";
      /** With `a_sender`: the campaigns (not archived) the user is a sender on. */
      readonly campaignIds: readonly string[];
    }
  | {
      /** Everything was written. */
      readonly kind: "committed";
      /** With `add`: the users added. */
      readonly added: readonly string[];
      /** With `add`: the users who were members already (unchanged). */
      readonly existing: readonly string[];
      /** With `set_role` or `remove`: the member row before the change. */
      readonly before: Member | null;
    };

/**
 * One atomic change to a campaign: a new or replaced aggregate, sender rows, and bulk moves, in that
 * order. Facts to record: `facts`, the sender change's ({@link senderFacts}), each move's
 * ({@link movedFacts}), and the bulk-send rule's when it applies.
 */
export interface CampaignCommit {
  /** The campaign. */
  readonly campaignId: string;
  /**
   * `null`: insert `next` as a new campaign (`exists` if the id is taken; an insert carries no sender
   * change and no moves). A number: the version the engine decided on; a different stored version (or
   * no campaign) means `conflict`, nothing written.
   */
  readonly expectedVersion: number | null;
  /** The new aggregate, or `null` to leave it as it is. */
  readonly next: Campaign | null;
  /** A change to the sender rows, or `null`. */
  readonly senders: SenderChange | null;
  /** Moves to run in order, after the aggregate and the senders. */
  readonly moves: readonly MoveSpec[];
  /** The engine's clock, epoch ms (`assignedAt` of moved conversations). */
  readonly now: number;
  /** Facts known before the step. */
  readonly facts: readonly Fact[];
  /** Who and when, for the facts the step's results imply. */
  readonly context: FactContext;
}

/** Result of {@link StorageAdapter.commitCampaign}. */
export type CampaignOutcome =
  | {
      /** An insert found the id taken; nothing written. */
      readonly kind: "exists";
    }
  | {
      /** The stored version differed, or the campaign does not exist; nothing written. */
      readonly kind: "conflict";
    }
  | {
      /** A sender change or move named users it may not; nothing written. */
      readonly kind: "refused";
      /** `not_members`: senders must be members (C3); `not_senders`: a removed user or a move's target is not a sender (A5). */
      readonly reason: "not_members" | "not_senders";
      /** Those users. */
      readonly userIds: readonly string[];
    }
  | {
      /** Everything was written. */
      readonly kind: "committed";
      /** The campaign as stored after the step (the bulk-send rule may have finished its bulk send). */
      readonly campaign: Campaign;
      /** With a sender `add`: the users added (not those who were senders already). */
      readonly added: readonly string[];
      /** What each move moved, in the order of `moves`. */
      readonly moved: readonly (readonly Moved[])[];
    };

/**
 * Which roster rows to read, always in the order they were added: a page after a cursor, or the rows
 * of some users (those in the roster, at most `limit`, no cursor). A cursor the adapter did not make
 * gives an empty page.
 */
export type RosterQuery =
  | {
      /** Members of an organization. */
      readonly roster: "members";
      /** The organization. */
      readonly orgId: string;
      /** Only these users (a look-up); omit for all. */
      readonly userIds?: readonly string[];
      /** Continue after this cursor (from a previous page's `cursor`). */
      readonly after?: string | null;
      /** Most rows. */
      readonly limit: number;
    }
  | {
      /** Senders of a campaign. */
      readonly roster: "senders";
      /** The campaign. */
      readonly campaignId: string;
      /** Only these users (a look-up); omit for all. */
      readonly userIds?: readonly string[];
      /** Continue after this cursor. */
      readonly after?: string | null;
      /** Most rows. */
      readonly limit: number;
    };

/** A page of roster rows: members or senders (as asked), and the cursor of the next page, or `null` at the end. */
export interface RosterPage<R extends Member | Sender = Member | Sender> {
  /** The rows, in the order they were added. */
  readonly rows: readonly R[];
  /** Pass as `after` for the next page; `null` when there is none. */
  readonly cursor: string | null;
}

/** What a decision about one user on one campaign needs, in one read (S2, L2, A6). */
export interface CampaignContext {
  /** The campaign. */
  readonly campaign: Campaign;
  /** Its organization. */
  readonly organization: Organization;
  /** The user's role in the organization, or `null` when not a member. */
  readonly role: Role | null;
  /** The user's sender row on the campaign, or `null`. */
  readonly sender: Sender | null;
}

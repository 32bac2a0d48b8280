/**
 * Public data types shared by the engine, the core and the storage adapters.
 * @module
 */

/** A member's role in an organization (O1). Owners and admins manage; texters text. */
export type Role = "owner" | "admin" | "texter";

/**
 * Campaign lifecycle (C1): `draft` → `active` (at launch) ↔ `paused`; `active`/`paused` →
 * `archived` (final). `bulk_sending` is reserved for bulk-send launches (C6).
 */
export type CampaignStatus = "draft" | "bulk_sending" | "active" | "paused" | "archived";

/**
 * Conversation statuses (M1): `not_started` → `initial_sent` → `needs_reply` (contact replied) →
 * `replied` (texter answered) → `needs_reply` …; `closed`; `opted_out` (final, O3).
 */
export type ConversationStatus =
  | "not_started"
  | "initial_sent"
  | "needs_reply"
  | "replied"
  | "closed"
  | "opted_out";

/** All conversation statuses, in a fixed order (useful for tables and arbitraries). */
export const CONVERSATION_STATUSES: readonly ConversationStatus[] = [
  "not_started",
  "initial_sent",
  "needs_reply",
  "replied",
  "closed",
  "opted_out",
];

/**
 * Finished-batch gate (S5): when may a texter who already holds conversations request more?
 * - `no-pending-initials` (default): they hold no conversation still waiting for its initial message;
 * - `no-pending-work`: they hold no conversation waiting for an initial message or for an answer;
 * - `none`: always.
 */
export type GatePolicy = "no-pending-initials" | "no-pending-work" | "none";

/** Status filter of admin reassignments (A3, A4). `any` means every open conversation (not closed, not opted out). */
export type StatusFilter = "any" | "needs_reply" | "not_started";

/**
 * An organization (O1, O2). Its members are rows of their own ({@link Member}), not part of this
 * aggregate: adding one never rewrites or version-checks the organization.
 */
export interface Organization {
  /** Stable id. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** Batch size a campaign starts with when self assignment is first enabled on it (O2). */
  readonly defaultBatchSize: number;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
  /** Optimistic-concurrency version; storage increments it on every committed change. */
  readonly version: number;
}

/** Self-assignment settings of a campaign (S1, S5, S7, S9). */
export interface SelfAssignmentSettings {
  /** Whether texters may request conversations and join by invite link. Off by default. */
  readonly enabled: boolean;
  /** Conversations per request, 1..5000; `null` until self assignment is first enabled (then O2's default). */
  readonly batchSize: number | null;
  /** Finished-batch gate policy (S5). */
  readonly gate: GatePolicy;
  /** Most conversations one texter may hold in the campaign through requests (S7); `null` for no cap. */
  readonly maxHeldPerTexter: number | null;
  /** Whether texters may hand conversations back (S9). */
  readonly allowSelfRelease: boolean;
  /**
   * T4: release a held conversation still waiting for its initial message after this much idle
   * texting time since it was assigned, ms; `null` = never.
   */
  readonly releaseNotStartedAfterMs: number | null;
  /**
   * T4: release a held conversation whose reply waits unanswered after this much idle texting time
   * (since the reply, or since it was assigned if later), ms; `null` = never.
   */
  readonly releaseNeedsReplyAfterMs: number | null;
}

/** The sender invite link (L1–L4). */
export interface InviteLink {
  /** Whether the link currently works. */
  readonly enabled: boolean;
  /** The current token (at least 120 bits of randomness), or `null` when disabled. */
  readonly token: string | null;
  /** Tokens revoked by disabling the link; kept so a join with one is told it was revoked (L2, L4). */
  readonly revokedTokens: readonly string[];
}

/** When a campaign may text (T1, T3). */
export interface CampaignSchedule {
  /** The campaign's IANA time zone; default `"America/New_York"`. */
  readonly timeZone: string;
  /** Opening of texting hours, "HH:MM" local time; default "09:00". */
  readonly textingHoursStart: string;
  /** Closing of texting hours, "HH:MM" local time, after the opening; default "21:00". */
  readonly textingHoursEnd: string;
  /** Campaign start, epoch ms: no initial messages before it (T3); `null` for none. */
  readonly startsAt: number | null;
  /** Campaign end, epoch ms: after it only conversations with replies are handed out (T3); `null` for none. */
  readonly endsAt: number | null;
}

/** A member of an organization (O1). A user with no member row is not a member. */
export interface Member {
  /** The user id. */
  readonly userId: string;
  /** Their role. */
  readonly role: Role;
  /** When they were added, epoch milliseconds. */
  readonly addedAt: number;
}

/** A sender (texter) on a campaign: a row of its own, in the order senders were added (C3, C4). */
export interface Sender {
  /** The user id (an organization member, C3). */
  readonly userId: string;
  /** When they were added, epoch milliseconds. */
  readonly addedAt: number;
  /** How they became a sender. */
  readonly via: "admin" | "invite";
}

/**
 * The bulk send of a campaign launched with `bulkSend: true` (C6). While `finishedAt` is `null` the
 * bulk send owns every initial message: nothing not-started is handed to a texter.
 */
export interface BulkSendState {
  /** When nothing was left pending (the campaign became active, or will on resume), or `null` while it runs. */
  readonly finishedAt: number | null;
}

/**
 * A campaign aggregate: settings, lifecycle and invite link. Small: its senders ({@link Sender}) and
 * conversations are rows in storage, so a join or a claim never rewrites it; its `version` guards
 * settings and lifecycle only.
 */
export interface Campaign {
  /** Stable id. */
  readonly id: string;
  /** The owning organization. */
  readonly orgId: string;
  /** Display title. */
  readonly title: string;
  /** Lifecycle state (C1). */
  readonly status: CampaignStatus;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
  /** Launch time, or `null` before launch. */
  readonly launchedAt: number | null;
  /** Self-assignment settings. */
  readonly selfAssignment: SelfAssignmentSettings;
  /** Sender invite link. */
  readonly invite: InviteLink;
  /** Time zone, texting hours, start and end (T1, T3). */
  readonly schedule: CampaignSchedule;
  /** The bulk send (C6) when launched with one, else `null`. */
  readonly bulkSend: BulkSendState | null;
  /** Optimistic-concurrency version; storage increments it on every committed change. */
  readonly version: number;
}

/** One conversation: a contact in a campaign. */
export interface Conversation {
  /** Id assigned by storage at import; opaque. */
  readonly id: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The host's contact id; unique within a campaign (C2). */
  readonly contactId: string;
  /** Current status (M1). */
  readonly status: ConversationStatus;
  /** The holder, or `null` when unassigned. */
  readonly assigneeId: string | null;
  /** When the current holder got it, epoch milliseconds, or `null`. */
  readonly assignedAt: number | null;
  /** When the unanswered reply arrived (status `needs_reply`), or `null`. */
  readonly replyAt: number | null;
  /** Contact's IANA time zone if known (used by the time rules). */
  readonly contactTimeZone: string | null;
  /** Import order within the campaign, from 0. */
  readonly seq: number;
}

/** A contact to import (C2). */
export interface ContactInput {
  /** The host's id for the contact. */
  readonly contactId: string;
  /** The contact's IANA time zone, when known (T2). */
  readonly timeZone?: string | null;
}

/** Per-sender figures in the conversations overview (A1). */
export interface SenderCounts {
  /** The sender. */
  readonly userId: string;
  /** Conversations held, any status but opted out (O3, A1). */
  readonly held: number;
  /** Held and waiting for the initial message. */
  readonly notStarted: number;
  /** Held and waiting for an answer to a reply. */
  readonly needsReply: number;
}

/**
 * The conversations overview (A1). Opted-out conversations count in `total` and `byStatus.opted_out`
 * only: never as unassigned work, never as held (O3).
 */
export interface ConversationsOverview {
  /** The campaign. */
  readonly campaignId: string;
  /** Every conversation in the campaign, whatever its status. */
  readonly total: number;
  /** Conversations nobody holds, any status but opted out. */
  readonly unassigned: number;
  /** Unassigned and waiting for the initial message. */
  readonly unassignedNotStarted: number;
  /** Unassigned and waiting for an answer (automatic opt-outs are not replies). */
  readonly unassignedNeedsReply: number;
  /** Counts per status over the whole campaign. */
  readonly byStatus: Readonly<Record<ConversationStatus, number>>;
  /** One row per sender, in roster order, plus any former holder still holding conversations. */
  readonly senders: readonly SenderCounts[];
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** Why conversations were assigned. */
export type AssignReason = "request" | "invite" | "launch" | "reassign";
/** Why conversations were unassigned. */
export type UnassignReason = "unassign_all" | "sender_removed" | "self_release" | "admin_release" | "stale_release";

/** Payloads of every event type, by type. */
export interface EventPayloads {
  /** An organization was created. */
  "organization.created": {
    /** Its name. */
    name: string;
    /** Its first owner. */
    ownerId: string;
  };
  /** A member was added. */
  "organization.member_added": {
    /** The member. */
    userId: string;
    /** Their role. */
    role: Role;
  };
  /** A member's role changed. */
  "organization.member_role_changed": {
    /** The member. */
    userId: string;
    /** Role before. */
    from: Role;
    /** Role after. */
    to: Role;
  };
  /** A member was removed. */
  "organization.member_removed": {
    /** The former member. */
    userId: string;
  };
  /** The default batch size changed (O2). */
  "organization.settings_changed": {
    /** The new default. */
    defaultBatchSize: number;
  };
  /** A campaign was created. */
  "campaign.created": {
    /** Its title. */
    title: string;
  };
  /** Campaign settings changed. */
  "campaign.settings_changed": {
    /** The changed settings and their new values. */
    changes: Record<string, unknown>;
  };
  /** The campaign was launched (C4); what the launch split is told by `conversations.assigned` facts (reason `launch`). */
  "campaign.launched": {
    /** True for a bulk-send launch (C6), which splits nothing. */
    bulkSend: boolean;
  };
  /** The campaign's lifecycle state changed (C1). */
  "campaign.status_changed": {
    /** State before. */
    from: CampaignStatus;
    /** State after. */
    to: CampaignStatus;
  };
  /** The bulk send had nothing left pending (C6); a `bulk_sending` campaign became active in the same step. */
  "campaign.bulk_send_finished": Record<string, never>;
  /** The invite link was enabled (L1). The token is not in the event. */
  "campaign.invite_link_enabled": Record<string, never>;
  /** The invite link was disabled and its token revoked (L4). */
  "campaign.invite_link_disabled": Record<string, never>;
  /** Contacts were imported (C2). */
  "conversations.imported": {
    /** New conversations. */
    created: number;
    /** Contacts the campaign already held. */
    skipped: number;
  };
  /** Unassigned conversations were given to a texter. */
  "conversations.assigned": {
    /** The receiving texter. */
    texterId: string;
    /** The conversations, in hand-out order. */
    conversationIds: string[];
    /** Why. */
    reason: AssignReason;
  };
  /** A texter's conversations went back to the pool. */
  "conversations.unassigned": {
    /** The former holder. */
    texterId: string;
    /** The conversations. */
    conversationIds: string[];
    /** Why. */
    reason: UnassignReason;
  };
  /** Conversations were moved to a texter by an admin (A3, A4, C3). */
  "conversations.reassigned": {
    /** The receiving texter. */
    toTexterId: string;
    /** Each conversation with its former holder (`null`: it was unassigned). */
    moves: {
      /** The conversation. */
      conversationId: string;
      /** Its holder before. */
      fromTexterId: string | null;
    }[];
  };
  /** A sender was added, by an admin or through the invite link. */
  "sender.joined": {
    /** The new sender. */
    texterId: string;
    /** How. */
    via: "admin" | "invite";
  };
  /** A sender was removed (C3). */
  "sender.removed": {
    /** The former sender. */
    texterId: string;
  };
  /** A conversation's status changed (M1). */
  "conversation.status_changed": {
    /** The conversation. */
    conversationId: string;
    /** Status before. */
    from: ConversationStatus;
    /** Status after. */
    to: ConversationStatus;
  };
  /** A contact opted out organization-wide (O3). */
  "contact.opted_out": {
    /** The contact. */
    contactId: string;
    /** Conversations that became `opted_out`. */
    conversationIds: string[];
  };
}

/** Every event type name. */
export type EventType = keyof EventPayloads;

/**
 * Who causes a change: a `user` (an id your service authenticated), a `system` actor (an id the
 * engine was told acts on the host's own authority: `createEngine({ systemActors })`), or the `host`
 * itself reporting what happened (messaging events and bulk sends, no actor id).
 */
export type ActorType = "user" | "system" | "host";

/** An event as the engine hands it to storage, before storage gives it a position. */
export type EventDraft = {
  [T in EventType]: {
    /** Event type. */
    readonly type: T;
    /** When it happened (the engine's clock), epoch milliseconds. */
    readonly at: number;
    /** Organization concerned. */
    readonly orgId: string;
    /** Campaign concerned, if any. */
    readonly campaignId: string | null;
    /** Who caused it; `null` for host-reported messaging events. */
    readonly actorId: string | null;
    /** What kind of actor: a `user`, a `system` actor (the host acting on its own authority), or the `host` reporting (no actor). */
    readonly actorType: ActorType;
    /** Type-specific payload. */
    readonly data: EventPayloads[T];
  };
}[EventType];

/**
 * A committed event. `seq` is its position in the storage's event log: strictly increasing in
 * commit order, so a host can read "everything after seq N" for an audit log or webhooks.
 */
export type SelfAssignEvent = EventDraft & {
  /** Position in the event log, from 1. */
  readonly seq: number;
};

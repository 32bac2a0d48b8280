/**
 * Contract, part 3: facts. An adapter records, in the same atomic step as each change, the facts the
 * contract defines for it: the ones the request carries (`facts`) and the ones its results imply,
 * built by the pure functions below from the request's {@link FactContext} and what the step did.
 * The engine reads them back ({@link FactQuery}) as the public events. No engine code runs inside an
 * adapter's step: requests, results and facts are plain data.
 * @module
 */
import type {
  ActorType,
  AssignReason,
  Conversation,
  EventDraft,
  EventPayloads,
  EventType,
  Member,
  Role,
  SelfAssignEvent,
  UnassignReason,
} from "../types.js";
import type { MoveSpec, Moved } from "../core/moves.js";

/** A fact as an adapter records it (the public event, before the log gives it a position). */
export type Fact = EventDraft;

/** A recorded fact with its position in the log. */
export type FactRecord = SelfAssignEvent;

/** Who acts and when, carried by every write so the adapter can build the facts its results imply. */
export interface FactContext {
  /** The engine's clock, epoch ms. */
  readonly at: number;
  /** The organization concerned. */
  readonly orgId: string;
  /** The campaign concerned, or `null` (organization-level writes). */
  readonly campaignId: string | null;
  /** Who acts; `null` for the host's own reports (messaging events, bulk sends). */
  readonly actorId: string | null;
  /** What kind of actor (see `ActorType`). */
  readonly actorType: ActorType;
}

/** Which facts to read: positions after `after`, oldest first, at most `limit`, optionally filtered. */
export interface FactQuery {
  /** Position to read after (0 = from the start). */
  readonly after: number;
  /** Most facts. */
  readonly limit: number;
  /** Only this organization's. */
  readonly orgId?: string;
  /** Only this campaign's. */
  readonly campaignId?: string;
  /** Only these types. */
  readonly types?: readonly EventType[];
}

/** Build one fact. */
export function fact<T extends EventType>(context: FactContext, type: T, data: EventPayloads[T], campaignId = context.campaignId): Fact {
  return { type, at: context.at, orgId: context.orgId, campaignId, actorId: context.actorId, actorType: context.actorType, data } as Fact;
}

/** Items grouped by holder (items without one left out), in first-seen order; one holder's items are the input itself (no copy). */
function byHolder<T>(items: readonly T[], holder: (item: T) => string | null): Map<string, readonly T[]> {
  const groups = new Map<string, T[]>();
  const first = items.length === 0 ? null : holder(items[0]!);
  if (first !== null && items.every((item) => holder(item) === first)) return new Map([[first, items]]);
  for (const item of items) {
    const h = holder(item);
    if (h === null) continue;
    const list = groups.get(h);
    if (list === undefined) groups.set(h, [item]);
    else list.push(item);
  }
  return groups;
}

/** One `conversations.assigned` fact per receiving texter. */
export function assignedFacts(context: FactContext, conversations: readonly Conversation[], reason: AssignReason): Fact[] {
  return [...byHolder(conversations, (c) => c.assigneeId)].map(([texterId, list]) =>
    fact(context, "conversations.assigned", { texterId, conversationIds: list.map((c) => c.id), reason }),
  );
}

/** One `conversations.unassigned` fact per former holder. */
export function unassignedFacts(context: FactContext, released: readonly Conversation[], reason: UnassignReason): Fact[] {
  return [...byHolder(released, (c) => c.assigneeId)].map(([texterId, list]) =>
    fact(context, "conversations.unassigned", { texterId, conversationIds: list.map((c) => c.id), reason }),
  );
}

/**
 * The facts of one move: a launch split assigns (`conversations.assigned`, reason `launch`); a move
 * to `null` unassigns (one fact per former holder, with the move's reason); any other move reassigns
 * (one `conversations.reassigned` per target, leaving out conversations that stayed put).
 */
export function movedFacts(context: FactContext, move: MoveSpec, moved: readonly Moved[]): Fact[] {
  if (move.reason === "launch") return assignedFacts(context, moved.map((m) => m.conversation), "launch");
  if (move.to === null) {
    const reason: UnassignReason = move.reason === "sender_removed" ? "sender_removed" : "unassign_all";
    return [...byHolder(moved, (m) => m.fromHolder)].map(([texterId, list]) =>
      fact(context, "conversations.unassigned", { texterId, conversationIds: list.map((m) => m.conversation.id), reason }),
    );
  }
  const real = moved.filter((m) => m.fromHolder !== m.conversation.assigneeId);
  return [...byHolder(real, (m) => m.conversation.assigneeId)].map(([toTexterId, list]) =>
    fact(context, "conversations.reassigned", {
      toTexterId,
      moves: list.map((m) => ({ conversationId: m.conversation.id, fromTexterId: m.fromHolder })),
    }),
  );
}

/** `sender.joined` for each sender a commit or a join added. */
export function senderFacts(context: FactContext, added: readonly string[], via: "admin" | "invite"): Fact[] {
  return added.map((texterId) => fact(context, "sender.joined", { texterId, via }));
}

/** `sender.removed`. */
export function senderRemovedFacts(context: FactContext, userId: string): Fact[] {
  return [fact(context, "sender.removed", { texterId: userId })];
}

/** The facts of a claim: `sender.joined` when a join added the sender, then `conversations.assigned`. */
export function claimFacts(context: FactContext, join: "invite" | null, joined: boolean, texterId: string, claimed: readonly Conversation[]): Fact[] {
  return [...(joined ? senderFacts(context, [texterId], "invite") : []), ...assignedFacts(context, claimed, join === null ? "request" : "invite")];
}

/** The facts of a member change: added members, a role change, a removal. */
export function memberFacts(
  context: FactContext,
  change: { readonly kind: "add"; readonly members: readonly { readonly userId: string; readonly role: Role }[] } | { readonly kind: "set_role"; readonly userId: string; readonly role: Role } | { readonly kind: "remove"; readonly userId: string },
  result: { readonly added: readonly string[]; readonly before: Member | null },
): Fact[] {
  switch (change.kind) {
    case "add": {
      const added = new Set(result.added);
      return change.members.filter((m) => added.has(m.userId)).map((m) => fact(context, "organization.member_added", { userId: m.userId, role: m.role }, null));
    }
    case "set_role":
      return result.before === null || result.before.role === change.role
        ? []
        : [fact(context, "organization.member_role_changed", { userId: change.userId, from: result.before.role, to: change.role }, null)];
    case "remove":
      return [fact(context, "organization.member_removed", { userId: change.userId }, null)];
  }
}

/** `conversations.imported` when an import created anything. */
export function importedFacts(context: FactContext, counts: { readonly created: number; readonly skipped: number }): Fact[] {
  return counts.created === 0 ? [] : [fact(context, "conversations.imported", { created: counts.created, skipped: counts.skipped })];
}

/** `conversation.status_changed` for each change whose status changed. */
export function statusFacts(context: FactContext, changes: readonly { readonly before: Conversation; readonly after: Conversation }[]): Fact[] {
  return changes
    .filter((c) => c.before.status !== c.after.status)
    .map((c) => fact(context, "conversation.status_changed", { conversationId: c.after.id, from: c.before.status, to: c.after.status }, c.after.campaignId));
}

/** The facts of an update of named conversations: status changes, then one `conversations.unassigned` per former holder. */
export function updateFacts(
  context: FactContext,
  releaseReason: "self_release" | "admin_release",
  changed: readonly { readonly before: Conversation; readonly after: Conversation }[],
): Fact[] {
  const released = changed.filter((c) => c.before.assigneeId !== null && c.after.assigneeId === null).map((c) => c.before);
  return [...statusFacts(context, changed), ...unassignedFacts(context, released, releaseReason)];
}

/**
 * The facts of an opt-out: each conversation's status change and `contact.opted_out` — none when the
 * contact was opted out already and nothing changed (a no-op records nothing).
 */
export function optOutFacts(context: FactContext, contactId: string, changed: readonly Conversation[], alreadyOptedOut: boolean): Fact[] {
  if (alreadyOptedOut && changed.length === 0) return [];
  return [
    ...changed.map((c) => fact(context, "conversation.status_changed", { conversationId: c.id, from: c.status, to: "opted_out" }, c.campaignId)),
    fact(context, "contact.opted_out", { contactId, conversationIds: changed.map((c) => c.id) }, null),
  ];
}

/** `conversation.status_changed` (→ `initial_sent`) for each acknowledged initial message (C6), given as they were before. */
export function acknowledgedFacts(context: FactContext, sent: readonly Conversation[]): Fact[] {
  return sent.map((c) => fact(context, "conversation.status_changed", { conversationId: c.id, from: c.status, to: "initial_sent" }, c.campaignId));
}

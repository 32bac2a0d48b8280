/**
 * Organization decisions (O1, O2, A6): pure functions from the aggregate, the actor and a command to
 * a plan — the next aggregate, a member change, the facts. Members are rows: the rules storage must
 * check against the rows themselves (the last owner, a member who is still a sender) are checked
 * inside its step; the rest are checked here.
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { Member, Organization, Role } from "../types.js";
import type { Actor, OrganizationPlan } from "./changes.js";
import { type Context, event } from "./decision.js";
import { DEFAULT_BATCH_SIZE, canManage } from "./policy.js";

/**
 * Throw unless the actor is an owner or admin (A6); returns their role. The error names only the
 * actor and what the caller named: for a campaign-scoped call (`{ campaignId }`) it does not even say
 * which organization runs the campaign.
 */
export function assertManager(actor: Actor, target: { readonly orgId: string } | { readonly campaignId: string }): Role {
  if (actor.role === null) {
    throw new AssignmentError(
      "NOT_A_MEMBER",
      "orgId" in target
        ? `User "${actor.id}" is not a member of organization "${target.orgId}"; add them with addMember first.`
        : `User "${actor.id}" is not a member of the organization that runs campaign "${target.campaignId}".`,
      { details: { ...target, userId: actor.id } },
    );
  }
  if (!canManage(actor.role)) {
    throw new AssignmentError("NOT_AUTHORIZED", `User "${actor.id}" is a ${actor.role}; only owners and admins may do this (A6).`, {
      details: { ...target, userId: actor.id, role: actor.role },
    });
  }
  return actor.role;
}

function assertOwnerRules(actorRole: Role, touchesOwner: boolean, orgId: string): void {
  if (touchesOwner && actorRole !== "owner") {
    throw new AssignmentError("NOT_AUTHORIZED", "Only an owner may grant, change or remove the owner role.", { details: { orgId } });
  }
}

/** A new organization whose creator is its first owner. Default batch size 300 (O2). */
export function createOrganization(input: { id: string; name: string; ownerId: string }, ctx: Context): OrganizationPlan & { next: Organization } {
  const next: Organization = { id: input.id, name: input.name, defaultBatchSize: DEFAULT_BATCH_SIZE, createdAt: ctx.now, version: 1 };
  return {
    next,
    members: { kind: "add", members: [{ userId: input.ownerId, role: "owner" }] },
    facts: [event("organization.created", ctx, input.id, null, { name: input.name, ownerId: input.ownerId })],
  };
}

/** Add members (O1). Owners and admins may add; only owners may add owners. Users named twice keep their last role. */
export function addMembers(actor: Actor, orgId: string, members: readonly { userId: string; role: Role }[]): OrganizationPlan {
  const role = assertManager(actor, { orgId });
  assertOwnerRules(role, members.some((m) => m.role === "owner"), orgId);
  const unique = [...new Map(members.map((m) => [m.userId, m])).values()];
  return { next: null, members: { kind: "add", members: unique }, facts: [] };
}

function assertMember(orgId: string, userId: string, target: Member | null): Member {
  if (target === null) {
    throw new AssignmentError("NOT_A_MEMBER", `User "${userId}" is not a member of "${orgId}".`, { details: { orgId, userId } });
  }
  return target;
}

/** Change a member's role (owners only for the owner role). Storage refuses to demote the last owner. */
export function setMemberRole(actor: Actor, orgId: string, userId: string, target: Member | null, role: Role): OrganizationPlan {
  const actorRole = assertManager(actor, { orgId });
  const from = assertMember(orgId, userId, target).role;
  assertOwnerRules(actorRole, from === "owner" || role === "owner", orgId);
  if (from === role) return { next: null, members: null, facts: [] };
  return { next: null, members: { kind: "set_role", userId, role }, facts: [] };
}

/**
 * Remove a member (owners only for an owner). Storage refuses to remove the last owner, or a member
 * who is a sender on a campaign that is not archived (remove them there first, which unassigns their
 * conversations, C3).
 */
export function removeMember(actor: Actor, orgId: string, userId: string, target: Member | null): OrganizationPlan {
  const actorRole = assertManager(actor, { orgId });
  assertOwnerRules(actorRole, assertMember(orgId, userId, target).role === "owner", orgId);
  return { next: null, members: { kind: "remove", userId }, facts: [] };
}

/** Set the default batch size (O2). Existing campaigns keep theirs. */
export function setDefaultBatchSize(org: Organization, actor: Actor, batchSize: number, ctx: Context): OrganizationPlan {
  assertManager(actor, { orgId: org.id });
  if (org.defaultBatchSize === batchSize) return { next: null, members: null, facts: [] };
  return {
    next: { ...org, defaultBatchSize: batchSize, version: org.version + 1 },
    members: null,
    facts: [event("organization.settings_changed", ctx, org.id, null, { defaultBatchSize: batchSize })],
  };
}

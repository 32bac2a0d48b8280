/**
 * Organization decisions (O1, O2, A6): pure functions from state and command to next state and events.
 * @module
 */
import { produce } from "immer";
import { AssignmentError } from "../errors.js";
import type { Organization, Role } from "../types.js";
import { type Context, type Decision, event } from "./decision.js";
import { DEFAULT_BATCH_SIZE, canManage, roleOf } from "./policy.js";

/**
 * Throw unless the actor is an owner or admin of the organization (A6). Returns the actor's role.
 * The error names only the actor and what the caller named: with `on.campaignId` (a campaign-scoped
 * call) it does not even say which organization runs the campaign.
 */
export function assertManager(org: Organization, actorId: string | null, on?: { readonly campaignId: string }): Role {
  const role = actorId === null ? undefined : roleOf(org, actorId);
  const target = on === undefined ? { orgId: org.id } : { campaignId: on.campaignId };
  if (role === undefined) {
    throw new AssignmentError(
      "NOT_A_MEMBER",
      on === undefined
        ? `User "${String(actorId)}" is not a member of organization "${org.id}"; add them with addMember first.`
        : `User "${String(actorId)}" is not a member of the organization that runs campaign "${on.campaignId}".`,
      { details: { ...target, userId: actorId } },
    );
  }
  if (!canManage(role)) {
    throw new AssignmentError(
      "NOT_AUTHORIZED",
      `User "${String(actorId)}" is a ${role}; only owners and admins may do this (A6).`,
      { details: { ...target, userId: actorId, role } },
    );
  }
  return role;
}

/** `members` with `userId` set to `role`: an own property even for names like `__proto__` (no prototype setter). */
function withMember(members: Readonly<Record<string, Role>>, userId: string, role: Role): Record<string, Role> {
  return Object.fromEntries([...Object.entries(members).filter(([u]) => u !== userId), [userId, role]]);
}

/** `members` without `userId`. */
function withoutMember(members: Readonly<Record<string, Role>>, userId: string): Record<string, Role> {
  return Object.fromEntries(Object.entries(members).filter(([u]) => u !== userId));
}

/** A new organization whose creator is its first owner. Default batch size 300 (O2). */
export function createOrganization(
  input: { id: string; name: string; ownerId: string },
  ctx: Context,
): Decision<Organization> {
  const state: Organization = {
    id: input.id,
    name: input.name,
    members: withMember({}, input.ownerId, "owner"),
    defaultBatchSize: DEFAULT_BATCH_SIZE,
    createdAt: ctx.now,
    version: 1,
  };
  return {
    state,
    events: [
      event("organization.created", ctx, input.id, null, {
        name: input.name,
        ownerId: input.ownerId,
      }),
    ],
  };
}

function assertOwnerRules(org: Organization, actorRole: Role, touches: boolean): void {
  if (touches && actorRole !== "owner") {
    throw new AssignmentError(
      "NOT_AUTHORIZED",
      "Only an owner may grant, change or remove the owner role.",
      { details: { orgId: org.id } },
    );
  }
}

function ownerCount(org: Organization): number {
  return Object.values(org.members).filter((r) => r === "owner").length;
}

/** Add a member with a role (O1). Adding an existing member is an error; use {@link setMemberRole}. */
export function addMember(
  org: Organization,
  input: { userId: string; role: Role },
  ctx: Context,
): Decision<Organization> {
  const actorRole = assertManager(org, ctx.actorId);
  assertOwnerRules(org, actorRole, input.role === "owner");
  if (roleOf(org, input.userId) !== undefined) {
    throw new AssignmentError(
      "ALREADY_EXISTS",
      `User "${input.userId}" is already a member of "${org.id}"; use setMemberRole to change the role.`,
      { details: { orgId: org.id, userId: input.userId } },
    );
  }
  const state: Organization = { ...org, members: withMember(org.members, input.userId, input.role), version: org.version + 1 };
  return {
    state,
    events: [event("organization.member_added", ctx, org.id, null, input)],
  };
}

/** Change a member's role. The last owner cannot be demoted. */
export function setMemberRole(
  org: Organization,
  input: { userId: string; role: Role },
  ctx: Context,
): Decision<Organization> {
  const actorRole = assertManager(org, ctx.actorId);
  const from = roleOf(org, input.userId);
  if (from === undefined) {
    throw new AssignmentError("NOT_A_MEMBER", `User "${input.userId}" is not a member of "${org.id}".`, {
      details: { orgId: org.id, userId: input.userId },
    });
  }
  assertOwnerRules(org, actorRole, from === "owner" || input.role === "owner");
  if (from === input.role) return { state: org, events: [] };
  if (from === "owner" && ownerCount(org) === 1) {
    throw new AssignmentError("INVALID_STATE", "An organization keeps at least one owner.", {
      details: { orgId: org.id, userId: input.userId },
    });
  }
  const state: Organization = { ...org, members: withMember(org.members, input.userId, input.role), version: org.version + 1 };
  return {
    state,
    events: [
      event("organization.member_role_changed", ctx, org.id, null, {
        userId: input.userId,
        from,
        to: input.role,
      }),
    ],
  };
}

/**
 * Remove a member. The engine refuses while they are a sender on a campaign that is not archived
 * (remove them from those campaigns first, which unassigns their conversations, C3).
 */
export function removeMember(
  org: Organization,
  input: { userId: string },
  ctx: Context,
): Decision<Organization> {
  const actorRole = assertManager(org, ctx.actorId);
  const from = roleOf(org, input.userId);
  if (from === undefined) {
    throw new AssignmentError("NOT_A_MEMBER", `User "${input.userId}" is not a member of "${org.id}".`, {
      details: { orgId: org.id, userId: input.userId },
    });
  }
  assertOwnerRules(org, actorRole, from === "owner");
  if (from === "owner" && ownerCount(org) === 1) {
    throw new AssignmentError("INVALID_STATE", "An organization keeps at least one owner.", {
      details: { orgId: org.id, userId: input.userId },
    });
  }
  const state: Organization = { ...org, members: withoutMember(org.members, input.userId), version: org.version + 1 };
  return { state, events: [event("organization.member_removed", ctx, org.id, null, input)] };
}

/** Set the default batch size (O2). Existing campaigns keep theirs. */
export function setDefaultBatchSize(
  org: Organization,
  input: { batchSize: number },
  ctx: Context,
): Decision<Organization> {
  assertManager(org, ctx.actorId);
  if (org.defaultBatchSize === input.batchSize) return { state: org, events: [] };
  const state = produce(org, (d) => {
    d.defaultBatchSize = input.batchSize;
    d.version += 1;
  });
  return {
    state,
    events: [
      event("organization.settings_changed", ctx, org.id, null, {
        defaultBatchSize: input.batchSize,
      }),
    ],
  };
}

/**
 * Organizations and their members (O1, O2, A6). Members are rows: adding one touches its own row
 * and never conflicts with another add, a join or a claim.
 * @module
 */
import * as core from "../core/organization.js";
import type { OrganizationPlan } from "../core/changes.js";
import { AssignmentError } from "../errors.js";
import type { Member, Organization, Role } from "../types.js";
import type { AddMembersResult, MemberPage } from "./results.js";
import { pager } from "./cursors.js";
import * as s from "./schema.js";
import { AGAIN, type Shell } from "./shell.js";

const role = s.oneOf<Role>("owner", "admin", "texter");
const CreateInput = s.object({ name: s.text, ownerId: s.text, id: s.optional(s.text) });
const MemberInput = s.object({ actorId: s.text, orgId: s.text, userId: s.text, role });
const MembersInput = s.object({
  actorId: s.text,
  orgId: s.text,
  members: s.list(s.object({ userId: s.text, role }), { max: 100_000 }),
  signal: s.optional(s.signal),
});
const RemoveInput = s.object({ actorId: s.text, orgId: s.text, userId: s.text });
const BatchSizeInput = s.object({ actorId: s.text, orgId: s.text, batchSize: s.batchSize });
const ListInput = s.object({ actorId: s.text, orgId: s.text, cursor: s.nullable(s.text), limit: s.withDefault(s.int(1, 1000), 100) });
const GetMemberInput = s.object({ actorId: s.text, orgId: s.text, userId: s.text });

/** Commit an organization plan; refusals become errors. */
async function commit(shell: Shell, orgId: string, actorId: string, plan: OrganizationPlan, expectedVersion: number | null) {
  const ctx = shell.ctx(actorId);
  const outcome = await shell.storage.commitOrganization({
    orgId,
    expectedVersion,
    next: plan.next,
    members: plan.members,
    facts: plan.facts,
    context: shell.facts(ctx, orgId, null),
  });
  switch (outcome.kind) {
    case "exists":
      throw new AssignmentError("ALREADY_EXISTS", `Organization "${orgId}" already exists.`, { details: { orgId } });
    case "conflict":
      return AGAIN;
    case "refused": {
      const userId = plan.members !== null && plan.members.kind !== "add" ? plan.members.userId : null;
      if (outcome.reason === "not_a_member") {
        throw new AssignmentError("NOT_A_MEMBER", `User "${userId}" is not a member of "${orgId}".`, { details: { orgId, userId } });
      }
      if (outcome.reason === "last_owner") {
        throw new AssignmentError("INVALID_STATE", "An organization keeps at least one owner.", { details: { orgId, userId } });
      }
      throw new AssignmentError(
        "INVALID_STATE",
        `User "${userId}" is a sender on ${outcome.campaignIds.map((c) => `"${c}"`).join(", ")}; remove them there first (C3).`,
        { details: { orgId, userId, campaignIds: outcome.campaignIds } },
      );
    }
    case "committed":
      return outcome;
  }
}

/** Create an organization; `ownerId` becomes its first owner. */
export async function createOrganization(shell: Shell, input: unknown): Promise<Organization> {
  const i = CreateInput(input, "input");
  const id = i.id ?? shell.generateId("organization");
  const plan = core.createOrganization({ id, name: i.name, ownerId: i.ownerId }, shell.ctx(i.ownerId));
  const outcome = await commit(shell, id, i.ownerId, plan, null);
  if (outcome === AGAIN) throw new AssignmentError("ALREADY_EXISTS", `Organization "${id}" already exists.`, { details: { orgId: id } });
  return plan.next;
}

/** The organization. */
export async function getOrganization(shell: Shell, orgId: unknown): Promise<Organization> {
  return shell.organization(s.text(orgId, "orgId"));
}

/** Add members in bulk; existing members are reported and left as they are. */
async function add(shell: Shell, actorId: string, orgId: string, members: readonly { userId: string; role: Role }[], signal?: AbortSignal): Promise<AddMembersResult> {
  return shell.retry("addMembers", async () => {
    await shell.organization(orgId);
    const plan = core.addMembers(await shell.actor(orgId, actorId), orgId, members);
    const outcome = await commit(shell, orgId, actorId, plan, null);
    return outcome === AGAIN ? AGAIN : { added: outcome.added, existing: outcome.existing };
  }, signal);
}

/** Add a member; `ALREADY_EXISTS` when they are one. */
export async function addMember(shell: Shell, input: unknown): Promise<Member> {
  const i = MemberInput(input, "input");
  const r = await add(shell, i.actorId, i.orgId, [{ userId: i.userId, role: i.role }]);
  if (r.added.length === 0) {
    throw new AssignmentError("ALREADY_EXISTS", `User "${i.userId}" is already a member of "${i.orgId}"; use setMemberRole to change the role.`, {
      details: { orgId: i.orgId, userId: i.userId },
    });
  }
  return (await shell.member(i.orgId, i.userId))!;
}

/** Add many members in one call. */
export async function addMembers(shell: Shell, input: unknown): Promise<AddMembersResult> {
  const i = MembersInput(input, "input");
  return add(shell, i.actorId, i.orgId, i.members, i.signal);
}

/** Change a member's role. */
export async function setMemberRole(shell: Shell, input: unknown): Promise<Member> {
  const i = MemberInput(input, "input");
  return shell.retry("setMemberRole", async () => {
    await shell.organization(i.orgId);
    const actor = await shell.actor(i.orgId, i.actorId);
    core.assertManager(actor, { orgId: i.orgId });
    const target = await shell.member(i.orgId, i.userId);
    const plan = core.setMemberRole(actor, i.orgId, i.userId, target, i.role);
    if (plan.members === null) return target!;
    const outcome = await commit(shell, i.orgId, i.actorId, plan, null);
    return outcome === AGAIN ? AGAIN : { ...(outcome.before ?? target!), role: i.role };
  });
}

/** Remove a member (refused while they are a sender on a campaign that is not archived). */
export async function removeMember(shell: Shell, input: unknown): Promise<Member> {
  const i = RemoveInput(input, "input");
  return shell.retry("removeMember", async () => {
    await shell.organization(i.orgId);
    const actor = await shell.actor(i.orgId, i.actorId);
    core.assertManager(actor, { orgId: i.orgId }); // authorization first: nothing about the target before it
    const target = await shell.member(i.orgId, i.userId);
    const outcome = await commit(shell, i.orgId, i.actorId, core.removeMember(actor, i.orgId, i.userId, target), null);
    return outcome === AGAIN ? AGAIN : (outcome.before ?? target!);
  });
}

/** Set the default batch size (O2). */
export async function setDefaultBatchSize(shell: Shell, input: unknown): Promise<Organization> {
  const i = BatchSizeInput(input, "input");
  return shell.retry("setDefaultBatchSize", async () => {
    const org = await shell.organization(i.orgId);
    const plan = core.setDefaultBatchSize(org, await shell.actor(i.orgId, i.actorId), i.batchSize, shell.ctx(i.actorId));
    if (plan.next === null) return org;
    return (await commit(shell, i.orgId, i.actorId, plan, org.version)) === AGAIN ? AGAIN : plan.next;
  });
}

/** One member, or `null` (owners and admins, or the member themselves). */
export async function getMember(shell: Shell, input: unknown): Promise<Member | null> {
  const i = GetMemberInput(input, "input");
  await shell.organization(i.orgId);
  const actor = await shell.actor(i.orgId, i.actorId);
  if (!(i.actorId === i.userId && actor.role !== null)) core.assertManager(actor, { orgId: i.orgId });
  return shell.member(i.orgId, i.userId);
}

/** Members in the order they were added, a page at a time (owners and admins). */
export async function listMembers(shell: Shell, input: unknown): Promise<MemberPage> {
  const i = ListInput(input, "input");
  await shell.organization(i.orgId);
  core.assertManager(await shell.actor(i.orgId, i.actorId), { orgId: i.orgId });
  const cursors = pager("listMembers", [i.orgId]);
  const page = await shell.storage.readRoster({ roster: "members", orgId: i.orgId, after: cursors.after(i.cursor), limit: i.limit });
  return { items: page.rows as readonly Member[], cursor: cursors.next(page.cursor) };
}

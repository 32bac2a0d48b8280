import type { Role } from "../../types.js";
import { defineCommand, step } from "./command.js";

/** O1, A6: an actor adds members in bulk (repeats, existing members and owners included); the model predicts added and existing. */
export const AddMembersCommand = defineCommand({
  label: (p: { actor: string; members: readonly { userId: string; role: Role }[] }) =>
    `addMembers(${p.actor}, [${p.members.map((x) => `${x.userId}:${x.role}`).join(",")}])`,
  step: (p, m, r) =>
    step({
      predict: () => m.model.addMembers(p.actor, p.members),
      call: () => r.engine.addMembers({ actorId: p.actor, orgId: r.orgId, members: p.members }),
      project: (v) => ({ added: [...v.added].sort(), existing: [...v.existing].sort() }),
      changesOnSuccess: (expected) => expected.added.length > 0,
    }),
});

import { defineCommand, step } from "./command.js";

/** A2: Bulk Unassign All. */
export const UnassignAllCommand = defineCommand({
  label: (p: { campaign: number; actor: string }) => `unassignAll(${p.campaign}, ${p.actor})`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.unassignAll(p.actor, campaignId),
      call: () => r.engine.unassignAll({ actorId: p.actor, campaignId }),
      project: (v) => ({ unassigned: v.unassigned }),
      changesOnSuccess: (expected) => expected.unassigned > 0,
    }),
});

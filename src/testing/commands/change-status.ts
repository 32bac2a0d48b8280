import { defineCommand, step } from "./command.js";

/** C1, C7: pause, resume or archive. */
export const ChangeStatusCommand = defineCommand({
  label: (p: { campaign: number; actor: string; change: "pause" | "resume" | "archive" }) => `${p.change}(${p.campaign}, ${p.actor})`,
  step: (p, m, r, campaignId) => {
    const input = { actorId: p.actor, campaignId };
    return step({
      predict: () => m.model.changeStatus(p.actor, input.campaignId, p.change),
      call: () => (p.change === "pause" ? r.engine.pauseCampaign(input) : p.change === "resume" ? r.engine.resumeCampaign(input) : r.engine.archiveCampaign(input)),
      project: () => null,
      changesOnSuccess: true,
    });
  },
});

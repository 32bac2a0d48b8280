import { defineCommand, step } from "./command.js";

/** C1, C4: an actor launches a campaign; the split must match the model's exactly. */
export const LaunchCommand = defineCommand({
  label: (p: { campaign: number; actor: string }) => `launch(${p.campaign}, ${p.actor})`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.launch(p.actor, campaignId),
      call: () => r.engine.launchCampaign({ actorId: p.actor, campaignId }),
      project: (v) => ({ assigned: v.assigned }),
      changesOnSuccess: true,
    }),
});

import { defineCommand, step } from "./command.js";

/** C3: an actor removes a sender, optionally reassigning their open conversations. */
export const RemoveSenderCommand = defineCommand({
  label: (p: { campaign: number; actor: string; userId: string; reassignTo: readonly string[] }) => `removeSender(${p.campaign}, ${p.actor}, ${p.userId} -> [${p.reassignTo.join(",")}])`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.removeSender(p.actor, campaignId, p.userId, p.reassignTo),
      call: () => r.engine.removeSender({ actorId: p.actor, campaignId, userId: p.userId, reassignTo: p.reassignTo }),
      project: () => null,
      changesOnSuccess: true,
    }),
});

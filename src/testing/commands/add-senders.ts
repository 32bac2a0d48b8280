import { defineCommand, step } from "./command.js";

/** C3: an actor adds senders (strangers included, who must be refused); the model predicts who was added. */
export const AddSendersCommand = defineCommand({
  label: (p: { campaign: number; actor: string; userIds: readonly string[] }) => `addSenders(${p.campaign}, ${p.actor}, [${p.userIds.join(",")}])`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.addSenders(p.actor, campaignId, p.userIds),
      call: () => r.engine.addSenders({ actorId: p.actor, campaignId, userIds: p.userIds }),
      project: (v) => ({ added: [...v.added].sort() }),
      changesOnSuccess: (expected) => expected.added.length > 0,
    }),
});

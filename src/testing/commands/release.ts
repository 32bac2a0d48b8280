import { conversationIdOf } from "../world.js";
import { defineCommand, step } from "./command.js";

/** S9, A6: release named conversations (all or nothing). */
export const ReleaseCommand = defineCommand({
  label: (p: { campaign: number; actor: string; contactIds: readonly string[] }) => `release(${p.campaign}, ${p.actor}, [${p.contactIds.join(",")}])`,
  step: async (p, m, r, campaignId) => {
    const ids: string[] = [];
    for (const contactId of p.contactIds) ids.push((await conversationIdOf(r, campaignId, contactId)) ?? `${campaignId}:missing-${contactId}`);
    return step({
      predict: () => m.model.release(p.actor, campaignId, p.contactIds),
      call: () => r.engine.releaseConversations({ actorId: p.actor, campaignId, conversationIds: ids }),
      project: (v) => ({ released: v.released }),
      changesOnSuccess: true,
    });
  },
});

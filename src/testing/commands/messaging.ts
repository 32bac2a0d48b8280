import type { MessagingEvent } from "../../core/policy.js";
import { conversationIdOf } from "../world.js";
import { defineCommand, step } from "./command.js";

/** M1–M3: the host reports a messaging event; `optOutText` makes a contact reply an automatic opt-out. */
export const MessagingCommand = defineCommand({
  label: (p: { campaign: number; contactId: string; kind: MessagingEvent; optOutText: string | null }) =>
    `${p.kind}(${p.campaign}, ${p.contactId}${p.optOutText === null ? "" : `, "${p.optOutText}"`})`,
  step: async (p, m, r, campaignId) => {
    const conversationId = (await conversationIdOf(r, campaignId, p.contactId)) ?? `${campaignId}:none`;
    const text = p.optOutText ?? undefined;
    return step({
      predict: (now: number) => m.model.messaging(campaignId, p.contactId, p.kind, now, text),
      call: () => {
        switch (p.kind) {
          case "initial_sent":
            return r.engine.recordInitialSent({ conversationId });
          case "contact_replied":
            return r.engine.recordContactReply({ conversationId, ...(text === undefined ? {} : { text, autoOptOut: true }) });
          case "texter_replied":
            return r.engine.recordTexterReply({ conversationId });
          case "closed":
            return r.engine.closeConversation({ conversationId });
        }
      },
      project: () => null,
    });
  },
});

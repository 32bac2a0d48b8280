import type * as fc from "fast-check";
import type { MessagingEvent } from "../../core/policy.js";
import { type ModelWorld, type RealWorld, conversationIdOf, runStep } from "../world.js";

/** M1–M3: the host reports a messaging event; `optOutText` makes a contact reply an automatic opt-out. */
export class MessagingCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly contactId: string,
    readonly kind: MessagingEvent,
    readonly optOutText: string | null,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const conversationId = (await conversationIdOf(r, campaignId, this.contactId)) ?? `${campaignId}:none`;
    const text = this.optOutText ?? undefined;
    await runStep(m, r, {
      label: this.toString(),
      predict: (now) => m.model.messaging(campaignId, this.contactId, this.kind, now, text),
      call: () => {
        switch (this.kind) {
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
  }
  toString(): string {
    return `${this.kind}(${this.campaign}, ${this.contactId}${this.optOutText === null ? "" : `, "${this.optOutText}"`})`;
  }
}

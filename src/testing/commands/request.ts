import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/**
 * S2–S8, I3–I6: a texter presses *Request Conversations*, maybe with an idempotency key. The model
 * predicts the exact conversations (best rank first) or the exact refusal reason.
 */
export class RequestCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly texterId: string,
    readonly idempotencyKey: string | null,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.request(campaignId, this.texterId, this.idempotencyKey),
      call: () =>
        r.engine.requestConversations({
          campaignId,
          texterId: this.texterId,
          ...(this.idempotencyKey === null ? {} : { idempotencyKey: this.idempotencyKey }),
        }),
      refusal: (v) => (v.ok ? null : v.reason),
      project: (v) => (v.ok ? { contactIds: v.conversations.map((c) => c.contactId), replayed: v.replayed } : { contactIds: [], replayed: false }),
      changesOnSuccess: (expected) => !expected.replayed,
    });
  }
  toString(): string {
    return `request(${this.campaign}, ${this.texterId}${this.idempotencyKey === null ? "" : `, key=${this.idempotencyKey}`})`;
  }
}

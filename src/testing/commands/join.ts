import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** Which token a join uses. */
export type TokenChoice = "current" | "revoked" | "garbage";

/** L2, L3, I7: a user joins with the current token, a revoked one or a made-up one. */
export class JoinCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly userId: string,
    readonly token: TokenChoice,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const mc = m.model.campaigns.get(campaignId)!;
    const token =
      this.token === "current"
        ? (mc.token ?? "no-current-token")
        : this.token === "revoked"
          ? (mc.revoked[mc.revoked.length - 1] ?? "no-revoked-token")
          : "a-made-up-token-of-good-length-0123";
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.join(token, this.userId),
      call: () => r.engine.joinByInvite({ token, userId: this.userId }),
      refusal: (v) => (v.ok ? null : v.reason),
      project: (v) =>
        v.ok
          ? {
              campaignId: v.campaignId,
              contactIds: v.conversations.map((c) => c.contactId),
              firstBatch: v.firstBatch,
              alreadySender: v.alreadySender,
            }
          : { campaignId: "", contactIds: [], firstBatch: "", alreadySender: false },
    });
  }
  toString(): string {
    return `join(${this.campaign}, ${this.userId}, ${this.token})`;
  }
}

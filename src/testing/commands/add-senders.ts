import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** C3: an actor adds senders (strangers included, who must be refused). */
export class AddSendersCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly userIds: readonly string[],
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.addSenders(this.actor, campaignId, this.userIds),
      call: () => r.engine.addSenders({ actorId: this.actor, campaignId, userIds: this.userIds }),
      project: () => null,
    });
  }
  toString(): string {
    return `addSenders(${this.campaign}, ${this.actor}, [${this.userIds.join(",")}])`;
  }
}

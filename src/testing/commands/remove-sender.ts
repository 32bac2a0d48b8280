import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** C3: an actor removes a sender, optionally reassigning their open conversations. */
export class RemoveSenderCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly userId: string,
    readonly reassignTo: readonly string[],
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.removeSender(this.actor, campaignId, this.userId, this.reassignTo),
      call: () =>
        r.engine.removeSender({ actorId: this.actor, campaignId, userId: this.userId, reassignTo: this.reassignTo }),
      project: () => null,
      changesOnSuccess: true,
    });
  }
  toString(): string {
    return `removeSender(${this.campaign}, ${this.actor}, ${this.userId} -> [${this.reassignTo.join(",")}])`;
  }
}

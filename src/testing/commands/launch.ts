import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** C1, C4: an actor launches a campaign; the split must match the model's exactly. */
export class LaunchCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.launch(this.actor, campaignId),
      call: () => r.engine.launchCampaign({ actorId: this.actor, campaignId }),
      project: (v) => ({ assigned: v.assigned }),
      changesOnSuccess: true,
    });
  }
  toString(): string {
    return `launch(${this.campaign}, ${this.actor})`;
  }
}

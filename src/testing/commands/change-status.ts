import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** C1, C7: pause, resume or archive. */
export class ChangeStatusCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly change: "pause" | "resume" | "archive",
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const input = { actorId: this.actor, campaignId };
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.changeStatus(this.actor, campaignId, this.change),
      call: () =>
        this.change === "pause"
          ? r.engine.pauseCampaign(input)
          : this.change === "resume"
            ? r.engine.resumeCampaign(input)
            : r.engine.archiveCampaign(input),
      project: () => null,
      changesOnSuccess: true,
    });
  }
  toString(): string {
    return `${this.change}(${this.campaign}, ${this.actor})`;
  }
}

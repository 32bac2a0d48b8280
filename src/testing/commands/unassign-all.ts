import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** A2: Bulk Unassign All. */
export class UnassignAllCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
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
      predict: () => m.model.unassignAll(this.actor, campaignId),
      call: () => r.engine.unassignAll({ actorId: this.actor, campaignId }),
      project: (v) => v,
    });
  }
  toString(): string {
    return `unassignAll(${this.campaign}, ${this.actor})`;
  }
}

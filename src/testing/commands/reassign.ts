import type * as fc from "fast-check";
import type { StatusFilter } from "../../types.js";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** A3 (count given), A4 (count null), A5: reassign from the pool or from senders to target senders. */
export class ReassignCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly from: "unassigned" | readonly string[],
    readonly filter: StatusFilter,
    readonly count: number | null,
    readonly to: readonly string[],
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const base = {
      actorId: this.actor,
      campaignId,
      from: this.from === "unassigned" ? ("unassigned" as const) : { senderIds: this.from },
      filter: this.filter,
      to: this.to,
    };
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.reassign(this.actor, campaignId, this.from, this.filter, this.count, this.to),
      call: () =>
        this.count === null ? r.engine.reassignAll(base) : r.engine.reassignSome({ ...base, count: this.count }),
      project: (v) => v,
    });
  }
  toString(): string {
    const from = this.from === "unassigned" ? "pool" : `[${this.from.join(",")}]`;
    return `reassign${this.count === null ? "All" : `Some(${this.count})`}(${this.campaign}, ${this.actor}, ${from}, ${this.filter} -> [${this.to.join(",")}])`;
  }
}

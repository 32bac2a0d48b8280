import type * as fc from "fast-check";
import type { GatePolicy } from "../../types.js";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** Settings patch, possibly with an invalid batch size (`bad`) that must be refused with nothing changed. */
export interface SettingsPatch {
  /** Self assignment on or off. */
  readonly enabled?: boolean;
  /** Batch size. */
  readonly batchSize?: number;
  /** Gate policy. */
  readonly gate?: GatePolicy;
  /** Per-texter cap. */
  readonly cap?: number | null;
  /** Self release. */
  readonly allowSelfRelease?: boolean;
  /** An invalid batch size to send (the step must be refused with `INVALID_INPUT`). */
  readonly bad?: unknown;
}

/** S1, S5, S7, S9: an actor changes self-assignment settings. */
export class UpdateSettingsCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly patch: SettingsPatch,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const { bad, cap, ...rest } = this.patch;
    await runStep(m, r, {
      label: this.toString(),
      predict: () =>
        "bad" in this.patch ? { kind: "error", code: "INVALID_INPUT" } : m.model.updateSettings(this.actor, campaignId, this.patch),
      call: () =>
        r.engine.updateCampaignSettings({
          actorId: this.actor,
          campaignId,
          ...rest,
          ...(cap !== undefined ? { maxHeldPerTexter: cap } : {}),
          ...("bad" in this.patch ? { batchSize: bad as number } : {}),
        }),
      project: () => null,
    });
  }
  toString(): string {
    return `settings(${this.campaign}, ${this.actor}, ${JSON.stringify(this.patch)})`;
  }
}

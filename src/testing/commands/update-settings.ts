import type { GatePolicy } from "../../types.js";
import { defineCommand, step } from "./command.js";

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
export const UpdateSettingsCommand = defineCommand({
  label: (p: { campaign: number; actor: string; patch: SettingsPatch }) => `settings(${p.campaign}, ${p.actor}, ${JSON.stringify(p.patch)})`,
  step: (p, m, r, campaignId) => {
    const { bad, cap, ...rest } = p.patch;
    return step({
      predict: () => ("bad" in p.patch ? { kind: "error", code: "INVALID_INPUT" } : m.model.updateSettings(p.actor, campaignId, p.patch)),
      call: () =>
        r.engine.updateCampaignSettings({
          actorId: p.actor,
          campaignId,
          ...rest,
          ...(cap !== undefined ? { maxHeldPerTexter: cap } : {}),
          ...("bad" in p.patch ? { batchSize: bad as number } : {}),
        }),
      project: () => null,
    });
  },
});

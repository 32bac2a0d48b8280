import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** L1, L4: enable or disable the invite link. */
export class InviteLinkCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly enable: boolean,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    let token: string | null = null;
    await runStep(m, r, {
      label: this.toString(),
      // The engine picks the token; the model adopts it after the call (see below).
      predict: () => {
        const mc = m.model.campaigns.get(campaignId)!;
        const before = { token: mc.token, revoked: [...mc.revoked] };
        const result = this.enable
          ? m.model.enableInvite(this.actor, campaignId, () => "pending")
          : m.model.disableInvite(this.actor, campaignId);
        if (this.enable && result.kind === "ok" && before.token === null) mc.token = null;
        return result;
      },
      call: async () => {
        if (!this.enable) return r.engine.disableInviteLink({ actorId: this.actor, campaignId });
        const result = await r.engine.enableInviteLink({ actorId: this.actor, campaignId });
        token = result.token;
        const mc = m.model.campaigns.get(campaignId)!;
        if (mc.token !== null && mc.token !== token) throw new Error("L1: enabling an enabled link changed its token");
        mc.token = token;
        if (token.length < 21) throw new Error("L1: invite token shorter than 120 bits");
        return result.campaign;
      },
      project: () => null,
    });
  }
  toString(): string {
    return `${this.enable ? "enable" : "disable"}Invite(${this.campaign}, ${this.actor})`;
  }
}

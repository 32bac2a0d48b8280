import { defineCommand, step } from "./command.js";

/** L1, L4: enable or disable the invite link. The engine picks the token; the model adopts it. */
export const InviteLinkCommand = defineCommand({
  label: (p: { campaign: number; actor: string; enable: boolean }) => `${p.enable ? "enable" : "disable"}Invite(${p.campaign}, ${p.actor})`,
  step: (p, m, r, campaignId) => {
    const mc = m.model.campaigns.get(campaignId)!;
    return step({
      predict: () => {
        const before = mc.token;
        const result = p.enable ? m.model.enableInvite(p.actor, campaignId, () => "pending") : m.model.disableInvite(p.actor, campaignId);
        if (p.enable && result.kind === "ok" && before === null) mc.token = null; // set from the engine's answer below
        return result;
      },
      call: async () => {
        if (!p.enable) return r.engine.disableInviteLink({ actorId: p.actor, campaignId });
        const result = await r.engine.enableInviteLink({ actorId: p.actor, campaignId });
        if (mc.token !== null && mc.token !== result.token) throw new Error("L1: enabling an enabled link changed its token");
        if (result.token.length < 21) throw new Error("L1: invite token shorter than 120 bits");
        mc.token = result.token;
        return result.campaign;
      },
      project: () => null,
    });
  },
});

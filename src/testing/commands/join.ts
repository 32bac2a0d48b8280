import { defineCommand, step } from "./command.js";

/** Which token a join uses. */
export type TokenChoice = "current" | "revoked" | "garbage";

/** L2, L3, I7: a user joins with the current token, a revoked one or a made-up one. */
export const JoinCommand = defineCommand({
  label: (p: { campaign: number; userId: string; token: TokenChoice }) => `join(${p.campaign}, ${p.userId}, ${p.token})`,
  step: (p, m, r, campaignId) => {
    const mc = m.model.campaigns.get(campaignId)!;
    const token =
      p.token === "current" ? (mc.token ?? "no-current-token") : p.token === "revoked" ? (mc.revoked[mc.revoked.length - 1] ?? "no-revoked-token") : "a-made-up-token-of-good-length-0123";
    return step({
      predict: () => m.model.join(token, p.userId),
      call: () => r.engine.joinByInvite({ token, userId: p.userId }),
      refusal: (v) => (v.ok ? null : v.reason),
      project: (v) =>
        v.ok
          ? { campaignId: v.campaignId, contactIds: v.conversations.map((c) => c.contactId), firstBatch: v.firstBatch, alreadySender: v.alreadySender }
          : { campaignId: "", contactIds: [], firstBatch: "", alreadySender: false },
      changesOnSuccess: (expected) => !expected.alreadySender || expected.contactIds.length > 0,
    });
  },
});

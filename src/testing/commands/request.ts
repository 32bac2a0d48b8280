import { defineCommand, step } from "./command.js";

/**
 * S2–S8, I3–I6: a texter presses *Request Conversations*, maybe with an idempotency key. The model
 * predicts the exact conversations (best rank first) or the exact refusal reason.
 */
export const RequestCommand = defineCommand({
  label: (p: { campaign: number; texterId: string; idempotencyKey: string | null }) =>
    `request(${p.campaign}, ${p.texterId}${p.idempotencyKey === null ? "" : `, key=${p.idempotencyKey}`})`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.request(campaignId, p.texterId, p.idempotencyKey),
      call: () => r.engine.requestConversations({ campaignId, texterId: p.texterId, ...(p.idempotencyKey === null ? {} : { idempotencyKey: p.idempotencyKey }) }),
      refusal: (v) => (v.ok ? null : v.reason),
      project: (v) => (v.ok ? { contactIds: v.conversations.map((c) => c.contactId), replayed: v.replayed } : { contactIds: [], replayed: false }),
      changesOnSuccess: (expected) => !expected.replayed,
    }),
});

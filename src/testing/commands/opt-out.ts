import { defineCommand, step } from "./command.js";

/** O3: a contact opts out organization-wide (a repeat changes nothing). */
export const OptOutCommand = defineCommand({
  label: (p: { contactId: string }) => `optOut(${p.contactId})`,
  step: (p, m, r) =>
    step({
      predict: () => m.model.optOut(p.contactId),
      call: () => r.engine.optOut({ orgId: r.orgId, contactId: p.contactId }),
      project: () => null,
    }),
});

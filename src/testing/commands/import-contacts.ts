import { defineCommand, step } from "./command.js";

/** C2: an actor imports contacts (duplicates and repeats included). */
export const ImportContactsCommand = defineCommand({
  label: (p: { campaign: number; actor: string; contactIds: readonly string[] }) => `import(${p.campaign}, ${p.actor}, [${p.contactIds.join(",")}])`,
  step: (p, m, r, campaignId) =>
    step({
      predict: () => m.model.importContacts(p.actor, campaignId, p.contactIds),
      call: () => r.engine.importContacts({ actorId: p.actor, campaignId, contacts: p.contactIds.map((contactId) => ({ contactId })) }),
      project: (v) => ({ created: v.created, skipped: v.skipped }),
      changesOnSuccess: (expected) => expected.created > 0,
    }),
});

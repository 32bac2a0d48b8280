import type { StatusFilter } from "../../types.js";
import { defineCommand, step } from "./command.js";

/** A3 (count given), A4 (count null), A5: reassign from the pool or from senders to target senders. */
export const ReassignCommand = defineCommand({
  label: (p: { campaign: number; actor: string; from: "unassigned" | readonly string[]; filter: StatusFilter; count: number | null; to: readonly string[] }) =>
    `reassign${p.count === null ? "All" : `Some(${p.count})`}(${p.campaign}, ${p.actor}, ${p.from === "unassigned" ? "pool" : `[${p.from.join(",")}]`}, ${p.filter} -> [${p.to.join(",")}])`,
  step: (p, m, r, campaignId) => {
    const base = { actorId: p.actor, campaignId, from: p.from === "unassigned" ? ("unassigned" as const) : { senderIds: p.from }, filter: p.filter, to: p.to };
    return step({
      predict: () => m.model.reassign(p.actor, campaignId, p.from, p.filter, p.count, p.to),
      call: () => (p.count === null ? r.engine.reassignAll(base) : r.engine.reassignSome({ ...base, count: p.count })),
      project: (v) => ({ moved: v.moved }),
      changesOnSuccess: (expected) => expected.moved > 0,
    });
  },
});

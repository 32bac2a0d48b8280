/**
 * Per-method checks, part 3: the optional methods — the derivable ones an adapter may write to be
 * faster (`getContext`, `countConversations`, `factHead`: each must agree with what the engine would
 * derive from the core reads) and the capability methods (`listCampaigns` with `campaignListing`;
 * `readConsumer`, `saveConsumer`, `pruneFacts` with `eventConsumers`). Each runs only when the
 * adapter has the method or declares the capability.
 * @module
 */
import { ok } from "node:assert/strict";
import type { Capabilities } from "../../storage/capabilities.js";
import type { DerivableStorage } from "../../storage/contract.js";
import type { Member, Sender } from "../../types.js";
import type { MethodCheck } from "./aggregates.js";
import { T0, campaignOf, claimOf, committed, context, factsOf, freshId, same, seed, setStatus } from "./seed.js";

/** A check of an optional method: what it needs. */
export interface OptionalCheck extends MethodCheck {
  /** The capability it needs, or the derivable method it checks. */
  readonly requires: keyof Capabilities | keyof DerivableStorage;
}

/** The checks of this part. */
export const optionalChecks: readonly OptionalCheck[] = [
  {
    name: "getContext (optional): the campaign, its organization, the user's role and sender row, as the core reads give them",
    requires: "getContext",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["__proto__", "admin"]], senders: ["t1"] });
      for (const userId of ["admin", "t1", "__proto__", "toString"]) {
        const member = (await storage.readRoster({ roster: "members", orgId: s.orgId, userIds: [userId], limit: 1 })).rows[0] as Member | undefined;
        const sender = (await storage.readRoster({ roster: "senders", campaignId: s.campaignId, userIds: [userId], limit: 1 })).rows[0] as Sender | undefined;
        same(
          await storage.getContext!(s.campaignId, userId),
          { campaign: await storage.getCampaign(s.campaignId), organization: await storage.getOrganization(s.orgId), role: member?.role ?? null, sender: sender ?? null },
          `getContext: for ${userId}`,
        );
      }
      same(await storage.getContext!(freshId("none"), "admin"), null, "getContext: an unknown campaign must give null");
    },
  },
  {
    name: "countConversations (optional): counts by holder and status, as counting the listing gives them (A1)",
    requires: "countConversations",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["a", "b", "c", "d", "e"] });
      await storage.claim(claimOf(s, "t1", { limit: 2 }));
      await setStatus(s, "c", "needs_reply");
      await setStatus(s, "a", "closed");
      await storage.optOut({ orgId: s.orgId, contactId: "e", now: T0, context: context(s.orgId, null, null) });
      const expected = new Map<string, number>();
      for (const c of (await storage.listConversations({ campaignId: s.campaignId, statuses: "all", limit: 100 })).rows) {
        const key = JSON.stringify([c.assigneeId, c.status]);
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
      const counts = await storage.countConversations!(s.campaignId);
      const got = counts.rows.filter((r) => r.count > 0).map((r) => [JSON.stringify([r.holder, r.status]), r.count] as const);
      same(new Map(got), expected, "countConversations: not the counts of the listing");
      same((await storage.countConversations!(freshId("none"))).rows.filter((r) => r.count > 0), [], "countConversations: an unknown campaign has none");
    },
  },
  {
    name: "factHead (optional): the position of the newest recorded fact",
    requires: "factHead",
    async run({ storage }) {
      const before = await storage.factHead!();
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["a"] });
      const mine = await factsOf(s);
      const head = await storage.factHead!();
      ok(mine.length > 0 && head > before && head >= mine[mine.length - 1]!.seq, `factHead: ${head} after facts up to ${mine[mine.length - 1]?.seq} (it was ${before})`);
      same(await storage.readFacts({ after: head, limit: 10, orgId: s.orgId }), [], "factHead: a fact of this organization after the head");
    },
  },
  {
    name: "listCampaigns (campaignListing): an organization's campaigns in the order they were created, a page at a time",
    requires: "campaignListing",
    async run({ storage }) {
      const s = await seed(storage);
      const ids = [s.campaignId];
      for (let i = 0; i < 4; i++) {
        const id = freshId("cmp");
        committed(await storage.commitCampaign({ campaignId: id, expectedVersion: null, next: campaignOf(id, s.orgId, { title: `C${i}` }), senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, id) }), "commitCampaign");
        ids.push(id);
      }
      await seed(storage); // another organization's campaign
      const listed: string[] = [];
      for (let after: string | null = null, n = 0; n < 100; n++) {
        const page = await storage.listCampaigns!({ orgId: s.orgId, after, limit: 2 });
        ok(page.rows.length <= 2, "listCampaigns: a page longer than its limit");
        listed.push(...page.rows.map((c) => c.id));
        if (page.cursor === null) break;
        after = page.cursor;
      }
      same(listed, ids, "listCampaigns: the organization's campaigns, in the order created");
      same((await storage.listCampaigns!({ orgId: s.orgId, limit: 10 })).rows[0], await storage.getCampaign(s.campaignId), "listCampaigns: the campaigns as stored");
      same((await storage.listCampaigns!({ orgId: freshId("none"), limit: 10 })).rows, [], "listCampaigns: an unknown organization has none");
    },
  },
  {
    name: "readConsumer, saveConsumer, pruneFacts (eventConsumers): positions only move forward; pruning keeps what a consumer has not read",
    requires: "eventConsumers",
    async run({ storage }) {
      const name = freshId("consumer");
      same(await storage.readConsumer!(name), 0, "readConsumer: a consumer that never saved is at 0");
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["a", "b", "c"] });
      for (const c of ["a", "b", "c"]) await setStatus(s, c, "closed");
      const mine = (await factsOf(s)).map((f) => f.seq);
      ok(mine.length >= 5, "pruneFacts: the check needs facts");
      const keep = mine[3]!; // the consumer has read up to here
      await storage.saveConsumer!(name, keep);
      await storage.saveConsumer!(name, keep - 1);
      same(await storage.readConsumer!(name), keep, "saveConsumer: a position below the stored one must be ignored");
      const last = mine[mine.length - 1]!;
      const pruned = await storage.pruneFacts!(last);
      ok(pruned >= 3, `pruneFacts: pruned ${pruned} facts, expected at least the 3 below the consumer's position`);
      const left = (await factsOf(s)).map((f) => f.seq);
      same(left.filter((seq) => seq < keep), [], "pruneFacts: facts below every consumer's position must go");
      same(left.filter((seq) => seq > keep), mine.filter((seq) => seq > keep), "pruneFacts: facts a consumer has not read must stay");
      await setStatus(s, "a", "needs_reply");
      const next = await factsOf(s, ["conversation.status_changed"]);
      ok(next[next.length - 1]!.seq > last, "pruneFacts: positions after pruning must keep increasing");
    },
  },
];

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setup as baseSetup } from "./helpers.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

describe.each(adapters)("on $name storage", ({ open }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const setup = (options: Parameters<typeof baseSetup>[0] = {}) =>
    baseSetup({ ...options, engine: { storage: fixture.storage, ...options.engine } });

  describe("seed scenario, end to end", () => {
    it("C4, A2, S2, L3, L2, S4, S6: split at launch, unassign all, self assign, invite, replies first", async () => {
      const { engine, orgId, campaignId, admin, texters } = await setup({ texters: 10, contacts: 5000 });
      await engine.addSenders({ actorId: admin, campaignId, userIds: texters });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: true });
      const launched = await engine.launchCampaign({ actorId: admin, campaignId });
      expect(launched.assigned).toBe(5000);

      // C4: 5,000 across 10 senders is 500 each.
      let overview = await engine.getOverview({ actorId: admin, campaignId });
      expect(overview.senders.map((s) => s.held)).toEqual(Array(10).fill(500));
      expect(overview.unassigned).toBe(0);

      // Self assignment then finds nothing (and the gate holds: they have pending initials).
      const t1 = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(t1).toEqual({ ok: false, reason: "batch_unfinished" });

      // A2: Bulk Unassign All.
      const un = await engine.unassignAll({ actorId: admin, campaignId });
      expect(un.unassigned).toBe(5000);
      overview = await engine.getOverview({ actorId: admin, campaignId });
      expect(overview.unassigned).toBe(5000);
      expect(overview.senders.every((s) => s.held === 0)).toBe(true);

      // Replies on 10 conversations (initial sent first).
      const replied: string[] = [];
      for (let i = 0; i < 10; i++) {
        const id = `${campaignId}:${4000 + i * 7}`;
        await engine.recordInitialSent({ conversationId: id });
        await engine.recordContactReply({ conversationId: id });
        replied.push(id);
      }

      // A texter asking for 300 gets 300 and sees those 10 first (S4, S6).
      const r = await engine.requestConversations({ campaignId, texterId: "t2" });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.conversations).toHaveLength(300);
      expect(r.conversations.slice(0, 10).map((c) => c.id)).toEqual(replied);
      const view = await engine.getAssignments({ actorId: "t2", campaignId, texterId: "t2", filter: "actionable" });
      expect(view.slice(0, 10).map((c) => c.id)).toEqual(replied);
      expect(view.slice(0, 10).every((c) => c.status === "needs_reply")).toBe(true);

      // Invite link: a member joining gets a first batch; a non-member is refused.
      const { token } = await engine.enableInviteLink({ actorId: admin, campaignId });
      await engine.addMember({ actorId: admin, orgId, userId: "newcomer", role: "texter" });
      const joined = await engine.joinByInvite({ token, userId: "newcomer" });
      expect(joined.ok && joined.firstBatch).toBe("assigned");
      expect(joined.ok && joined.conversations.length).toBe(300);
      const stranger = await engine.joinByInvite({ token, userId: "stranger" });
      expect(stranger).toEqual({ ok: false, reason: "not_a_member" });

      overview = await engine.getOverview({ actorId: admin, campaignId });
      expect(overview.total).toBe(5000);
      expect(overview.unassigned).toBe(5000 - 600);
    });
  });
});

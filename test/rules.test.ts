import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentError, createEngine, type Engine } from "../src/index.js";
import { setup as baseSetup, uniqueId } from "./helpers.js";
import { readAllEvents } from "../src/testing/event-replay.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AssignmentError) return error.code;
    throw error;
  }
  return "none";
}

async function readAll(engine: Engine) {
  return readAllEvents((after, limit) => engine.readEvents({ after, limit }));
}

/** Events recorded so far (the log may be shared with other tests: compare differences only). */
async function eventCount(engine: Engine): Promise<number> {
  let count = 0;
  let after = 0;
  for (;;) {
    const page = await engine.readEvents({ after, limit: 10_000 });
    if (page.length === 0) return count;
    count += page.length;
    after = page[page.length - 1]!.seq;
  }
}

describe.each(adapters)("on $name storage", ({ open }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const engine0 = () => createEngine({ storage: fixture.storage });
  const setup = (options: Parameters<typeof baseSetup>[0] = {}) =>
    baseSetup({ ...options, engine: { storage: fixture.storage, ...options.engine } });

  async function launched(options: { texters?: number; contacts?: number; batchSize?: number } = {}) {
    const s = await setup({ texters: options.texters ?? 3, contacts: options.contacts ?? 20 });
    await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: options.batchSize ?? 5 });
    await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId });
    await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: s.texters });
    return s;
  }

  describe("input validation: bad input throws INVALID_INPUT and changes nothing (I8)", () => {
    it("O2, S1: batch size 0, 5001, 2.5, NaN, negative, strings are refused", async () => {
      const { engine, orgId, campaignId, admin } = await setup({ contacts: 3 });
      const before = await eventCount(engine);
      for (const bad of [0, 5001, 2.5, Number.NaN, -1, "300", null, Infinity]) {
        expect(await codeOf(engine.setDefaultBatchSize({ actorId: admin, orgId, batchSize: bad as number }))).toBe("INVALID_INPUT");
        expect(await codeOf(engine.updateCampaignSettings({ actorId: admin, campaignId, batchSize: bad as number }))).toBe("INVALID_INPUT");
      }
      expect(await codeOf(engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "sometimes" as never }))).toBe("INVALID_INPUT");
      expect(await codeOf(engine.updateCampaignSettings({ actorId: admin, campaignId, bogus: 1 } as never))).toBe("INVALID_INPUT");
      expect(await codeOf(engine.updateCampaignSettings({ actorId: admin, campaignId, maxHeldPerTexter: 0 }))).toBe("INVALID_INPUT");
      expect(await eventCount(engine)).toBe(before);
      expect((await engine.getOrganization(orgId)).defaultBatchSize).toBe(300);
      expect((await engine.getCampaign(campaignId)).selfAssignment.batchSize).toBeNull();
    });

    it("wrong types, empty ids and missing fields are refused", async () => {
      const { engine, campaignId, admin } = await setup({ contacts: 1 });
      const cases: Promise<unknown>[] = [
        engine.requestConversations(undefined as never),
        engine.requestConversations({ campaignId: 5, texterId: "t1" } as never),
        engine.requestConversations({ campaignId, texterId: "" }),
        engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: 3 } as never),
        engine.addSenders({ actorId: admin, campaignId, userIds: [] }),
        engine.addSenders({ actorId: admin, campaignId, userIds: "t1" as never }),
        engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "" }] }),
        engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "x", timeZone: "Mars/Olympus" }] }),
        engine.reassignSome({ actorId: admin, campaignId, from: "unassigned", filter: "any", count: 0, to: ["t1"] }),
        engine.reassignSome({ actorId: admin, campaignId, from: "unassigned", filter: "all" as never, count: 1, to: ["t1"] }),
        engine.joinByInvite({ token: 42, userId: "t1" } as never),
        engine.createOrganization({ name: "x".repeat(1001), ownerId: "a" }),
      ];
      for (const c of cases.map(codeOf)) expect(await c).toBe("INVALID_INPUT");
    });

    it("unknown ids throw their own codes", async () => {
      const { engine, admin } = await setup();
      expect(await codeOf(engine.getCampaign("nope"))).toBe("CAMPAIGN_NOT_FOUND");
      expect(await codeOf(engine.requestConversations({ campaignId: "nope", texterId: "t1" }))).toBe("CAMPAIGN_NOT_FOUND");
      expect(await codeOf(engine.createCampaign({ actorId: admin, orgId: "nope", title: "x" }))).toBe("ORGANIZATION_NOT_FOUND");
      expect(await codeOf(engine.recordInitialSent({ conversationId: "nope:1" }))).toBe("CONVERSATION_NOT_FOUND");
    });
  });

  describe("authorization (A6)", () => {
    it("A6: a texter cannot change settings, launch, add or remove senders, reassign or unassign", async () => {
      const { engine, campaignId, texters } = await launched();
      const t = texters[0]!;
      const before = await eventCount(engine);
      const attempts = [
        engine.updateCampaignSettings({ actorId: t, campaignId, batchSize: 10 }),
        engine.launchCampaign({ actorId: t, campaignId }),
        engine.addSenders({ actorId: t, campaignId, userIds: [t] }),
        engine.removeSender({ actorId: t, campaignId, userId: texters[1]! }),
        engine.reassignAll({ actorId: t, campaignId, from: "unassigned", filter: "any", to: [t] }),
        engine.unassignAll({ actorId: t, campaignId }),
        engine.getOverview({ actorId: t, campaignId }),
        engine.getAssignments({ actorId: t, campaignId, texterId: texters[1]! }),
      ];
      for (const a of attempts.map(codeOf)) expect(await a).toBe("NOT_AUTHORIZED");
      expect(await codeOf(engine.unassignAll({ actorId: "stranger", campaignId }))).toBe("NOT_A_MEMBER");
      expect(await eventCount(engine)).toBe(before);
    });
  });

  describe("conversations and self assignment (C2, C5, C7, S3, S6–S9)", () => {
    it("C2: importing a contact twice (in one call or two) creates one conversation", async () => {
      const { engine, campaignId, admin } = await setup();
      expect(await engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "a" }, { contactId: "a" }, { contactId: "b" }] })).toEqual({ created: 2, skipped: 1 });
      expect(await engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "b" }, { contactId: "c" }] })).toEqual({ created: 1, skipped: 1 });
      expect((await engine.getOverview({ actorId: admin, campaignId })).total).toBe(3);
    });

    it("C5: senders added after launch receive nothing automatically", async () => {
      const { engine, campaignId, admin } = await launched();
      const o = await engine.getOverview({ actorId: admin, campaignId });
      expect(o.unassigned).toBe(20);
      expect(o.senders.every((s) => s.held === 0)).toBe(true);
    });

    it("C7: a paused campaign refuses requests and joins; reads still work", async () => {
      const { engine, orgId, campaignId, admin } = await launched();
      const { token } = await engine.enableInviteLink({ actorId: admin, campaignId });
      await engine.pauseCampaign({ actorId: admin, campaignId });
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "campaign_not_active" });
      await engine.addMember({ actorId: admin, orgId, userId: "new", role: "texter" });
      expect(await engine.joinByInvite({ token, userId: "new" })).toEqual({ ok: false, reason: "campaign_not_active" });
      expect((await engine.getOverview({ actorId: admin, campaignId })).total).toBe(20);
    });

    it("I6: with self assignment off, nothing is assigned by request or invite", async () => {
      const { engine, orgId, campaignId, admin } = await launched({ contacts: 10, batchSize: 3 });
      const { token } = await engine.enableInviteLink({ actorId: admin, campaignId });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: false });
      await engine.addMember({ actorId: admin, orgId, userId: "late", role: "texter" });
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "self_assignment_disabled" });
      expect(await engine.joinByInvite({ token, userId: "late" })).toEqual({ ok: false, reason: "self_assignment_disabled" });
      expect((await fixture.inspect(campaignId)).every((r) => r.holder === null)).toBe(true);
    });

    it("S3, S7: a request assigns min(batch, assignable, remaining cap)", async () => {
      const { engine, campaignId, admin } = await launched({ contacts: 12, batchSize: 5 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "none", maxHeldPerTexter: 7 });
      const a = await engine.requestConversations({ campaignId, texterId: "t1" });
      const b = await engine.requestConversations({ campaignId, texterId: "t1" });
      const c = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(a.ok && a.conversations.length).toBe(5);
      expect(b.ok && b.conversations.length).toBe(2);
      expect(c).toEqual({ ok: false, reason: "cap_reached" });
      const d = await engine.requestConversations({ campaignId, texterId: "t2" });
      expect(d.ok && d.conversations.length).toBe(5);
      const e = await engine.requestConversations({ campaignId, texterId: "t3" });
      expect(e).toEqual({ ok: false, reason: "nothing_available" });
    });

    it("S5: no-pending-work also waits for unanswered replies", async () => {
      const { engine, campaignId, admin } = await launched({ contacts: 10, batchSize: 2 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "no-pending-work" });
      const r = await engine.requestConversations({ campaignId, texterId: "t1" });
      if (!r.ok) throw new Error("expected conversations");
      for (const c of r.conversations) await engine.recordInitialSent({ conversationId: c.id });
      await engine.recordContactReply({ conversationId: r.conversations[0]!.id });
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "batch_unfinished" });
      await engine.recordTexterReply({ conversationId: r.conversations[0]!.id });
      expect((await engine.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    });

    it("S6: the view lists needs-reply (oldest reply first), then not started, and can hide the rest", async () => {
      const { engine, campaignId, admin, clock } = await launched({ contacts: 6, batchSize: 6 });
      const r = await engine.requestConversations({ campaignId, texterId: "t1" });
      if (!r.ok) throw new Error("expected conversations");
      const [a, b, c, d] = r.conversations;
      for (const x of [a!, b!, c!]) await engine.recordInitialSent({ conversationId: x.id });
      clock.advance(1000);
      await engine.recordContactReply({ conversationId: c!.id });
      clock.advance(1000);
      await engine.recordContactReply({ conversationId: a!.id });
      const all = await engine.getAssignments({ actorId: "t1", campaignId, texterId: "t1" });
      expect(all.map((x) => x.id)).toEqual([c!.id, a!.id, d!.id, r.conversations[4]!.id, r.conversations[5]!.id, b!.id]);
      const actionable = await engine.getAssignments({ actorId: admin, campaignId, texterId: "t1", filter: "actionable" });
      expect(actionable.map((x) => x.id)).toEqual([c!.id, a!.id, d!.id, r.conversations[4]!.id, r.conversations[5]!.id]);
    });

    it("S8: a retried request with the same key returns the original result and assigns nothing more", async () => {
      const { engine, campaignId } = await launched({ contacts: 20, batchSize: 5 });
      const first = await engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: "abc" });
      const again = await engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: "abc" });
      expect(first.ok && again.ok && again.replayed).toBe(true);
      expect(again.ok && again.conversations.map((c) => c.id)).toEqual(first.ok && first.conversations.map((c) => c.id));
      const other = await engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: "def" });
      expect(other).toEqual({ ok: false, reason: "batch_unfinished" });
    });

    it("S9: texters release only their own, only when allowed; all or nothing", async () => {
      const { engine, campaignId, admin } = await launched({ contacts: 20, batchSize: 3 });
      const r1 = await engine.requestConversations({ campaignId, texterId: "t1" });
      const r2 = await engine.requestConversations({ campaignId, texterId: "t2" });
      if (!r1.ok || !r2.ok) throw new Error("expected conversations");
      const mine = r1.conversations.map((c) => c.id);
      expect(await codeOf(engine.releaseConversations({ actorId: "t1", campaignId, conversationIds: mine }))).toBe("SELF_RELEASE_NOT_ALLOWED");
      await engine.updateCampaignSettings({ actorId: admin, campaignId, allowSelfRelease: true });
      const mixed = [mine[0]!, r2.conversations[0]!.id];
      expect(await codeOf(engine.releaseConversations({ actorId: "t1", campaignId, conversationIds: mixed }))).toBe("NOT_HELD");
      expect((await engine.getAssignments({ actorId: "t1", campaignId, texterId: "t1" })).length).toBe(3);
      expect(await engine.releaseConversations({ actorId: "t1", campaignId, conversationIds: mine })).toEqual({ released: 3 });
      expect(await engine.releaseConversations({ actorId: admin, campaignId, conversationIds: [r2.conversations[0]!.id] })).toEqual({ released: 1 });
    });
  });

  describe("messaging events (M1–M3) and opt-outs (O3, A1)", () => {
    it("M2: a reply on an unassigned conversation puts it at the front of the pool", async () => {
      const { engine, campaignId, clock } = await launched({ contacts: 10, batchSize: 2 });
      const last = `${campaignId}:9`;
      const earlier = `${campaignId}:5`;
      for (const id of [earlier, last]) await engine.recordInitialSent({ conversationId: id });
      await engine.recordContactReply({ conversationId: last });
      clock.advance(10);
      await engine.recordContactReply({ conversationId: earlier });
      const r = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(r.ok && r.conversations.map((c) => c.id)).toEqual([last, earlier]);
    });

    it("M1: transitions not in the table are refused with nothing changed", async () => {
      const { engine, campaignId } = await launched({ contacts: 2 });
      const id = `${campaignId}:0`;
      expect(await codeOf(engine.recordTexterReply({ conversationId: id }))).toBe("INVALID_TRANSITION");
      expect(await codeOf(engine.recordContactReply({ conversationId: id }))).toBe("INVALID_TRANSITION");
      expect((await engine.getConversation(id)).status).toBe("not_started");
    });

    it("M3, O3, A1: an automatic opt-out reply opts the contact out everywhere and is not counted as a reply", async () => {
      const { engine, orgId, campaignId, admin } = await launched({ contacts: 4 });
      const other = await engine.createCampaign({ actorId: admin, orgId, title: "Second" });
      await engine.importContacts({ actorId: admin, campaignId: other.id, contacts: [{ contactId: "c1" }, { contactId: "c2" }] });
      const id = `${campaignId}:1`;
      await engine.recordInitialSent({ conversationId: id });
      const after = await engine.recordContactReply({ conversationId: id, text: " Stop ", autoOptOut: true });
      expect(after.status).toBe("opted_out");
      expect((await engine.getConversation(`${other.id}:0`)).status).toBe("opted_out");
      const o = await engine.getOverview({ actorId: admin, campaignId });
      expect(o.unassignedNeedsReply).toBe(0);
      expect(o.byStatus.opted_out).toBe(1);
      // O3: never assigned again, and later imports of the contact arrive opted out.
      const third = await engine.createCampaign({ actorId: admin, orgId, title: "Third" });
      await engine.importContacts({ actorId: admin, campaignId: third.id, contacts: [{ contactId: "c1" }] });
      expect((await engine.getConversation(`${third.id}:0`)).status).toBe("opted_out");
      await engine.updateCampaignSettings({ actorId: admin, campaignId, batchSize: 50 });
      const r = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(r.ok && r.conversations.map((c) => c.contactId)).toEqual(["c0", "c2", "c3"]);
    });
  });

  describe("time rules (T1, T3)", () => {
    it("T1: requests and invite joins outside texting hours are refused with their own reason, DST included", async () => {
      const s = await launched({ contacts: 10, batchSize: 2 });
      const { engine, orgId, campaignId, admin, clock } = s;
      const { token } = await engine.enableInviteLink({ actorId: admin, campaignId });
      await engine.addMember({ actorId: admin, orgId, userId: "late", role: "texter" });
      // The manual clock starts at 2026-11-03 15:00 UTC = 10:00 in New York. Move to 21:00 New York.
      clock.advance(11 * 3600_000);
      const before = await eventCount(engine);
      // The refusal says when texting opens: 09:00 the next morning in New York (14:00 UTC).
      const opensAt = Date.UTC(2026, 10, 4, 14, 0);
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "outside_texting_hours", opensAt });
      expect(await engine.joinByInvite({ token, userId: "late" })).toEqual({ ok: false, reason: "outside_texting_hours", opensAt });
      expect(await eventCount(engine)).toBe(before);
      // In Los Angeles it is 18:00: inside.
      await engine.updateCampaignSettings({ actorId: admin, campaignId, timeZone: "America/Los_Angeles" });
      expect((await engine.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    });

    it("T1: texting hours and time zones are validated; closing must come after opening", async () => {
      const { engine, campaignId, admin } = await setup({ contacts: 1 });
      for (const patch of [{ timeZone: "Mars/Olympus" }, { textingHoursStart: "25:00" }, { textingHoursEnd: "9pm" }, { textingHoursStart: "21:00" }, { startsAt: 100, endsAt: 50 }]) {
        expect(await codeOf(engine.updateCampaignSettings({ actorId: admin, campaignId, ...patch }))).toBe("INVALID_INPUT");
      }
      expect((await engine.getCampaign(campaignId)).schedule).toEqual({
        timeZone: "America/New_York",
        textingHoursStart: "09:00",
        textingHoursEnd: "21:00",
        startsAt: null,
        endsAt: null,
      });
    });

    it("T2: a not-started conversation outside texting hours in its contact's zone waits, without blocking the rest", async () => {
      const { engine, campaignId, admin, clock } = await setup({ texters: 2 });
      // 10:00 in New York (the campaign's zone): Chicago 09:00 (inside), Los Angeles 07:00 and
      // Singapore 23:00, thirteen hours ahead (outside). Contacts of unknown zone always qualify.
      const zones = ["Asia/Singapore", "America/Los_Angeles", null, "America/Chicago", "Asia/Singapore", "America/Los_Angeles"];
      await engine.importContacts({ actorId: admin, campaignId, contacts: zones.map((timeZone, i) => ({ contactId: `z${i}`, timeZone })) });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: true, batchSize: 10, gate: "none" });
      await engine.launchCampaign({ actorId: admin, campaignId });
      await engine.addSenders({ actorId: admin, campaignId, userIds: ["t1", "t2"] });
      const ids = zones.map((_, i) => `${campaignId}:${i}`);
      // A Singapore contact who already replied is not waiting for an initial message: it goes out.
      await engine.recordInitialSent({ conversationId: ids[4]! });
      await engine.recordContactReply({ conversationId: ids[4]! });
      const now = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(now.ok && now.conversations.map((c) => c.id)).toEqual([ids[4], ids[2], ids[3]]);
      clock.advance(3 * 3600_000); // 13:00 New York, 10:00 Los Angeles, 02:00 Singapore
      const later = await engine.requestConversations({ campaignId, texterId: "t2" });
      expect(later.ok && later.conversations.map((c) => c.id)).toEqual([ids[1], ids[5]]);
      expect((await engine.getConversation(ids[0]!)).assigneeId).toBeNull();
    });

    it("T3: before the start no conversation needing its initial message is handed out; after the end only replies", async () => {
      const { engine, campaignId, admin, clock } = await launched({ contacts: 6, batchSize: 3 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "none", startsAt: clock.now() + 3600_000, endsAt: clock.now() + 7200_000 });
      const ids = Array.from({ length: 6 }, (_, i) => `${campaignId}:${i}`);
      await engine.recordInitialSent({ conversationId: ids[4]! });
      await engine.recordContactReply({ conversationId: ids[4]! });
      await engine.recordInitialSent({ conversationId: ids[5]! });
      const early = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(early.ok && early.conversations.map((c) => c.id)).toEqual([ids[4], ids[5]]); // no not-started ones
      clock.advance(3600_000);
      const during = await engine.requestConversations({ campaignId, texterId: "t2" });
      expect(during.ok && during.conversations.map((c) => c.id)).toEqual([ids[0], ids[1], ids[2]]);
      await engine.recordInitialSent({ conversationId: ids[3]! });
      await engine.recordContactReply({ conversationId: ids[3]! });
      await engine.unassignAll({ actorId: admin, campaignId });
      await engine.recordInitialSent({ conversationId: ids[0]! });
      await engine.recordContactReply({ conversationId: ids[0]! });
      clock.advance(3600_000);
      const late = await engine.requestConversations({ campaignId, texterId: "t3" });
      // Only replies, oldest first (ids[3] and ids[0] replied at the same instant: import order).
      expect(late.ok && late.conversations.map((c) => c.id)).toEqual([ids[4], ids[0], ids[3]]);
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "nothing_available" });
    });
  });

  describe("stale release (T4)", () => {
    it("T4: idle not-started and unanswered conversations go back to the pool, counting only texting time, with an event per texter", async () => {
      const { engine, campaignId, admin, clock } = await launched({ contacts: 10, batchSize: 3 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "none", releaseNotStartedAfterMs: 3600_000, releaseNeedsReplyAfterMs: 7200_000 });
      const a = await engine.requestConversations({ campaignId, texterId: "t1" }); // 10:00 New York
      if (!a.ok) throw new Error("expected conversations");
      const [first, second, third] = a.conversations;
      await engine.recordInitialSent({ conversationId: second!.id }); // touched: no longer waiting for an initial
      await engine.recordInitialSent({ conversationId: third!.id });
      await engine.recordContactReply({ conversationId: third!.id }); // waits for an answer from 10:00
      clock.advance(3600_000 - 60_000); // 10:59
      expect((await engine.releaseStale({ campaignId })).released).toBe(0);
      clock.advance(120_000); // 11:01
      const before = await eventCount(engine);
      const r = await engine.releaseStale({ campaignId });
      expect(r).toEqual({ released: 1, byTexter: [{ texterId: "t1", conversationIds: [first!.id] }] });
      const events = (await engine.readEvents({ after: before })).filter((e) => e.campaignId === campaignId);
      expect(events.map((e) => [e.type, e.data])).toEqual([["conversations.unassigned", { texterId: "t1", conversationIds: [first!.id], reason: "stale_release" }]]);
      clock.advance(3600_000); // 12:01: the reply has waited two hours
      expect(await engine.releaseStale({ campaignId })).toEqual({ released: 1, byTexter: [{ texterId: "t1", conversationIds: [third!.id] }] });
      expect((await engine.getConversation(second!.id)).assigneeId).toBe("t1");
      expect((await engine.getConversation(third!.id)).assigneeId).toBeNull();
    });

    it("T4: the idle clock does not run overnight", async () => {
      const { engine, campaignId, admin, clock } = await launched({ contacts: 5, batchSize: 2 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, releaseNotStartedAfterMs: 3600_000 });
      clock.advance(10.5 * 3600_000); // 20:30 New York
      const got = await engine.requestConversations({ campaignId, texterId: "t1" });
      expect(got.ok).toBe(true);
      clock.advance(12 * 3600_000 + 29 * 60_000); // 08:59 next morning: 30 min of texting time idle
      expect((await engine.releaseStale({ campaignId })).released).toBe(0);
      clock.advance(31 * 60_000); // 09:30: 30 + 30 minutes
      expect((await engine.releaseStale({ campaignId })).released).toBe(0);
      clock.advance(2 * 60_000);
      expect((await engine.releaseStale({ campaignId })).released).toBe(2);
    });

    it("T4: a release racing a reply and a request keeps every conversation with one holder and the events consistent (fc.scheduler)", async () => {
      const fc = await import("fast-check");
      const { scheduledStorage, readAllEvents, replayHolders } = await import("../src/testing.js");
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), async (sch) => {
          const { engine, campaignId, admin, clock } = await launched({ contacts: 8, batchSize: 2 });
          await engine.updateCampaignSettings({ actorId: admin, campaignId, gate: "none", releaseNotStartedAfterMs: 3600_000, releaseNeedsReplyAfterMs: 3600_000 });
          const got = await engine.requestConversations({ campaignId, texterId: "t1" });
          if (!got.ok) throw new Error("expected conversations");
          await engine.recordInitialSent({ conversationId: got.conversations[1]!.id });
          await engine.recordContactReply({ conversationId: got.conversations[1]!.id });
          clock.advance(2 * 3600_000);
          const raced = createEngine({ storage: scheduledStorage(sch, fixture.storage), clock: clock.now });
          await sch.waitFor(
            Promise.all([
              raced.releaseStale({ campaignId }),
              raced.recordTexterReply({ conversationId: got.conversations[1]!.id }).catch(() => undefined),
              raced.requestConversations({ campaignId, texterId: "t2" }),
            ]),
          );
          const rows = await fixture.inspect(campaignId);
          const replay = replayHolders(await readAllEvents((after, limit) => engine.readEvents({ after, limit })), campaignId);
          for (const row of rows) expect(replay.get(row.id) ?? null).toBe(row.holder);
          expect(rows.filter((row) => row.holder === "t1").every((row) => row.status === "replied")).toBe(true);
        }),
        { numRuns: 30 },
      );
    });
  });

  describe("bulk send (C6)", () => {
    it("C6: ThruText workflow — add senders, launch with bulk send, Bulk Unassign All, texters self assign and get replies first", async () => {
      const { engine, campaignId, admin, texters, clock } = await setup({ texters: 3, contacts: 30 });
      await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: true, batchSize: 10, gate: "none" });
      await engine.addSenders({ actorId: admin, campaignId, userIds: texters });
      const launched = await engine.launchCampaign({ actorId: admin, campaignId, bulkSend: true });
      expect(launched.campaign.status).toBe("bulk_sending");
      expect(launched.assigned).toBe(0); // C4: a bulk-send launch splits nothing
      // Bulk Unassign All has nothing to do; during the bulk send nothing not-started is handed out.
      expect(await engine.unassignAll({ actorId: admin, campaignId })).toEqual({ unassigned: 0 });
      expect(await engine.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "nothing_available" });
      // Two workers drain it; replies arrive for some.
      const sent: string[] = [];
      await Promise.all(
        ["w1", "w2"].map((workerId) =>
          engine.bulkSend({ campaignId, workerId, batchSize: 4, send: async (c) => void sent.push(c.id) }),
        ),
      );
      expect(new Set(sent).size).toBe(30);
      expect(sent).toHaveLength(30);
      expect((await engine.getCampaign(campaignId)).status).toBe("active");
      expect(await engine.getBulkSendProgress({ campaignId })).toEqual({ total: 30, sent: 30, pending: 0, status: "active", waiting: null });
      const replied = [`${campaignId}:20`, `${campaignId}:7`];
      for (const id of replied) {
        clock.advance(1000);
        await engine.recordContactReply({ conversationId: id });
      }
      const r = await engine.requestConversations({ campaignId, texterId: "t2" });
      expect(r.ok && r.conversations.slice(0, 2).map((c) => c.id)).toEqual(replied);
    });

    it("C6: leases are refused outside a bulk send and acknowledgements of unleased ids change nothing", async () => {
      const { engine, campaignId, admin } = await setup({ contacts: 3 });
      expect(await codeOf(engine.leaseInitialSends({ campaignId, workerId: "w" }))).toBe("INVALID_STATE");
      await engine.launchCampaign({ actorId: admin, campaignId, bulkSend: true });
      const leased = await engine.leaseInitialSends({ campaignId, workerId: "w", limit: 2 });
      expect(leased).toHaveLength(2);
      expect(await engine.leaseInitialSends({ campaignId, workerId: "x", limit: 5 })).toHaveLength(1);
      const wrong = await engine.acknowledgeInitialSends({ campaignId, workerId: "x", conversationIds: leased.map((c) => c.id) });
      expect(wrong).toEqual({ sent: 0, rejected: leased.map((c) => c.id), pending: 3, finished: false });
      expect(await engine.leaseInitialSends({ campaignId, workerId: "y", limit: 5 })).toEqual([]); // all three leased
      const right = await engine.acknowledgeInitialSends({ campaignId, workerId: "w", conversationIds: leased.map((c) => c.id) });
      expect(right).toEqual({ sent: 2, rejected: [], pending: 1, finished: false });
    });
  });

  describe("events and atomicity", () => {
    it("Events: every change emits a typed event; refusals emit none", async () => {
      const before = await eventCount(engine0());
      const { engine, orgId, campaignId } = await launched({ contacts: 5, batchSize: 2 });
      const mine = async () => (await readAll(engine)).filter((e) => e.orgId === orgId);
      const types = (await mine()).map((e) => e.type);
      expect(types).toEqual(
        expect.arrayContaining(["organization.created", "organization.member_added", "campaign.created", "conversations.imported", "campaign.settings_changed", "campaign.launched", "campaign.status_changed", "sender.joined"]),
      );
      expect(await eventCount(engine)).toBeGreaterThan(before);
      const count = (await mine()).length;
      await engine.requestConversations({ campaignId, texterId: "t1" });
      const added = (await mine()).slice(count).map((e) => e.type);
      expect(added).toEqual(["conversations.assigned"]);
      await engine.requestConversations({ campaignId, texterId: "t1" });
      expect((await mine()).length).toBe(count + 1);
    });

    it("I8: a storage fault in the middle of a commit rolls everything back and surfaces as STORAGE_ERROR", async () => {
      const storage = fixture.storage;
      const engine = createEngine({ storage, generateId: (k) => uniqueId(k) });
      const org = await engine.createOrganization({ name: "o", ownerId: "admin" });
      for (const t of ["t1", "t2"]) await engine.addMember({ actorId: "admin", orgId: org.id, userId: t, role: "texter" });
      const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "c" });
      await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: 10 }, (_, i) => ({ contactId: `c${i}` })) });
      await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: ["t1", "t2"] });
      await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
      await engine.optOut({ orgId: org.id, contactId: "c9" }); // held by t2, now opted out
      const before = await fixture.inspect(c.id);
      const events = await eventCount(engine);
      // A commit that fails half-way: its first move hands t2's conversations (an opted-out one among
      // them) to t1, which the adapter refuses with a fault in the middle of the move (O3).
      const faulty = createEngine({
        storage: new Proxy(storage, {
          get(target, prop, receiver) {
            if (prop !== "commitCampaign") return Reflect.get(target, prop, receiver);
            return (commit: Parameters<typeof storage.commitCampaign>[0]) =>
              target.commitCampaign({
                ...commit,
                moves: [{ from: { kind: "holders", holderIds: ["t2"] }, statuses: "all", limit: null, to: ["t1"], reason: "reassign" }, ...commit.moves],
              });
          },
        }),
      });
      const error = await faulty.unassignAll({ actorId: "admin", campaignId: c.id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AssignmentError);
      expect((error as AssignmentError).code).toBe("STORAGE_ERROR");
      expect((error as AssignmentError).cause).toBeInstanceOf(Error);
      expect(await fixture.inspect(c.id)).toEqual(before);
      expect(await eventCount(engine)).toBe(events);
      // And the pool still works after the rollback.
      expect(await engine.unassignAll({ actorId: "admin", campaignId: c.id })).toEqual({ unassigned: 10 });
    });
  });
});

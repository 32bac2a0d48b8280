/**
 * Defects found by outside testing, each pinned on every adapter: overview counts (O3, A1), no event
 * for a no-op (events), ids that are prototype keys, validation before any effect (I8), strings every
 * adapter treats alike (identifiers and strings), and authorization before anything about the target.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentError, createEngine, startStaleRelease, type Engine } from "../src/index.js";
import { readAllEvents } from "../src/testing/event-replay.js";
import { manualClock, setup as baseSetup, uniqueId } from "./helpers.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

async function failure(p: Promise<unknown> | (() => unknown)): Promise<AssignmentError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (error) {
    if (error instanceof AssignmentError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

async function eventsOf(engine: Engine, orgId: string) {
  return (await readAllEvents((after, limit) => engine.readEvents({ after, limit }))).filter((e) => e.orgId === orgId);
}

describe.each(adapters)("hardening on $name storage", ({ open }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const setup = (options: Parameters<typeof baseSetup>[0] = {}) => baseSetup({ ...options, engine: { storage: fixture.storage, ...options.engine } });

  it("O3, A1: opted-out conversations count in the total only, never as unassigned or held", async () => {
    const { engine, orgId, campaignId, admin } = await setup({ contacts: 3 });
    await engine.launchCampaign({ actorId: admin, campaignId });
    await engine.optOut({ orgId, contactId: "c1" });
    const o = await engine.getOverview({ actorId: admin, campaignId });
    expect({ total: o.total, unassigned: o.unassigned, unassignedNotStarted: o.unassignedNotStarted, optedOut: o.byStatus.opted_out }).toEqual({
      total: 3,
      unassigned: 2,
      unassignedNotStarted: 2,
      optedOut: 1,
    });

    const held = await setup({ texters: 1, contacts: 3 });
    await held.engine.addSenders({ actorId: held.admin, campaignId: held.campaignId, userIds: ["t1"] });
    await held.engine.launchCampaign({ actorId: held.admin, campaignId: held.campaignId });
    await held.engine.optOut({ orgId: held.orgId, contactId: "c2" });
    const h = await held.engine.getOverview({ actorId: held.admin, campaignId: held.campaignId });
    expect(h.total).toBe(3);
    expect(h.unassigned).toBe(0);
    expect(h.senders).toEqual([{ userId: "t1", held: 2, notStarted: 2, needsReply: 0 }]);
  });

  it("O3, events: a repeated opt-out changes nothing and records nothing; a first one with no conversations is recorded", async () => {
    const { engine, orgId } = await setup({ contacts: 2 });
    await engine.optOut({ orgId, contactId: "c0" });
    const before = (await eventsOf(engine, orgId)).length;
    expect(await engine.optOut({ orgId, contactId: "c0" })).toEqual({ conversations: 0 });
    expect((await eventsOf(engine, orgId)).length).toBe(before);
    await engine.optOut({ orgId, contactId: "nobody-here" });
    const last = (await eventsOf(engine, orgId)).at(-1)!;
    expect(last).toMatchObject({ type: "contact.opted_out", data: { contactId: "nobody-here", conversationIds: [] } });
  });

  it("Identifiers: __proto__, constructor, toString and hasOwnProperty are ordinary user and contact ids", async () => {
    const clock = manualClock();
    const engine = createEngine({ storage: fixture.storage, clock: clock.now, generateId: (k) => uniqueId(k) });
    const org = await engine.createOrganization({ name: "Proto", ownerId: "owner" });
    const odd = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    for (const userId of odd) {
      const member = await engine.addMember({ actorId: "owner", orgId: org.id, userId, role: "texter" });
      expect(member).toMatchObject({ userId, role: "texter" });
      expect(await engine.getMember({ actorId: "owner", orgId: org.id, userId })).toMatchObject({ userId, role: "texter" });
    }
    expect(await engine.getMember({ actorId: "owner", orgId: org.id, userId: "valueOf" })).toBeNull();
    const stored = await engine.listMembers({ actorId: "owner", orgId: org.id });
    expect(stored.items.map((m) => m.userId)).toEqual(["owner", ...odd]);
    // A non-member named like an Object.prototype property is still not a member.
    const c = await engine.createCampaign({ actorId: "owner", orgId: org.id, title: "t" });
    await engine.importContacts({ actorId: "owner", campaignId: c.id, contacts: odd.map((contactId) => ({ contactId })) });
    await engine.updateCampaignSettings({ actorId: "owner", campaignId: c.id, enabled: true, batchSize: 1, releaseNotStartedAfterMs: 60_000 });
    await engine.launchCampaign({ actorId: "owner", campaignId: c.id });
    await engine.addSenders({ actorId: "owner", campaignId: c.id, userIds: odd });
    for (const texterId of odd) {
      const r = await engine.requestConversations({ campaignId: c.id, texterId });
      expect(r.ok && r.conversations).toHaveLength(1);
    }
    expect(await engine.requestConversations({ campaignId: c.id, texterId: "valueOf" })).toEqual({ ok: false, reason: "not_a_sender" });
    clock.advance(5 * 60_000);
    const released = await engine.releaseStale({ campaignId: c.id });
    expect(released.released).toBe(4);
    expect(released.byTexter.map((b) => b.texterId).sort()).toEqual([...odd].sort());
    await engine.optOut({ orgId: org.id, contactId: "__proto__" });
    const o = await engine.getOverview({ actorId: "owner", campaignId: c.id });
    expect(o.byStatus.opted_out).toBe(1);
  });

  it("I8: bulkSend and startStaleRelease validate every argument before any effect", async () => {
    const { engine, campaignId, admin } = await setup({ contacts: 3 });
    await engine.launchCampaign({ actorId: admin, campaignId, bulkSend: true });
    for (const bad of [{ send: "sms" }, { send: undefined }, { batchSize: 0, send: async () => undefined }, { leaseMs: "1s", send: async () => undefined }]) {
      expect((await failure(engine.bulkSend({ campaignId, workerId: "w", ...bad } as never))).code).toBe("INVALID_INPUT");
    }
    // Nothing was leased by the refused calls: another worker gets all three at once.
    expect(await engine.leaseInitialSends({ campaignId, workerId: "other", limit: 10 })).toHaveLength(3);

    const good = { campaignIds: [campaignId], everyMs: 60_000 };
    for (const bad of [
      null,
      undefined,
      { ...good, everyMs: 2 ** 31 },
      { ...good, everyMs: 500 },
      { ...good, everyMs: 1.5e3 + 0.5 },
      { ...good, campaignIds: "x" },
      { ...good, campaignIds: [""] },
      { ...good, onReleased: "log" },
      { ...good, onError: 3 },
    ]) {
      expect((await failure(() => startStaleRelease(engine, bad as never))).code).toBe("INVALID_INPUT");
    }
    expect((await failure(() => startStaleRelease({} as never, good))).code).toBe("INVALID_INPUT");
    const job = startStaleRelease(engine, { ...good, everyMs: 2 ** 31 - 1 });
    job.stop();
  });

  it("Identifiers and strings: a NUL or a lone surrogate in any id, title or key is INVALID_INPUT, the same on every adapter", async () => {
    const { engine, orgId, campaignId, admin } = await setup({ texters: 1, contacts: 2 });
    await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: true, batchSize: 1, textingHoursStart: "00:00", textingHoursEnd: "24:00" });
    await engine.launchCampaign({ actorId: admin, campaignId });
    await engine.addSenders({ actorId: admin, campaignId, userIds: ["t1"] });
    const before = (await eventsOf(engine, orgId)).length;
    for (const bad of ["a\u0000b", "a\uD800", "a\uDBFF", "\uDC00z", "x\uDFFF\uD800"]) {
      const calls: Promise<unknown>[] = [
        engine.createOrganization({ name: bad, ownerId: "o" }),
        engine.createOrganization({ name: "n", ownerId: bad }),
        engine.createOrganization({ name: "n", ownerId: "o", id: bad }),
        engine.addMember({ actorId: admin, orgId, userId: bad, role: "texter" }),
        engine.createCampaign({ actorId: admin, orgId, title: bad }),
        engine.createCampaign({ actorId: admin, orgId, title: "t", id: bad }),
        engine.updateCampaignSettings({ actorId: admin, campaignId, title: bad }),
        engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: bad }] }),
        engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: bad }),
        engine.requestConversations({ campaignId, texterId: bad }),
        engine.joinByInvite({ token: bad, userId: "t1" }),
        engine.getConversation(bad),
        engine.optOut({ orgId, contactId: bad }),
      ];
      for (const call of calls) expect((await failure(call)).code).toBe("INVALID_INPUT");
    }
    expect((await eventsOf(engine, orgId)).length).toBe(before);
    // Well-formed astral characters are data.
    const fine = await engine.createCampaign({ actorId: admin, orgId, title: "🗳️ \uD83D\uDE00 ok" });
    expect((await engine.getCampaign(fine.id)).title).toBe("🗳️ \uD83D\uDE00 ok");
  });

  it("Authorization first: an unauthorized caller's error says nothing about the target (A6)", async () => {
    const { engine, orgId, campaignId, admin } = await setup({ texters: 2, contacts: 4, admin: "boss-7c1" });
    await engine.createOrganization({ name: "Other", ownerId: "other-owner" });
    await engine.addMember({ actorId: admin, orgId, userId: "deputy", role: "admin" });
    await engine.updateCampaignSettings({ actorId: admin, campaignId, enabled: true, batchSize: 1 });
    await engine.addSenders({ actorId: admin, campaignId, userIds: ["t1"] });
    await engine.launchCampaign({ actorId: admin, campaignId });
    const second = await engine.createCampaign({ actorId: admin, orgId, title: "second" });
    await engine.addSenders({ actorId: admin, campaignId: second.id, userIds: ["t1"] });
    const draft = await engine.createCampaign({ actorId: admin, orgId, title: "draft" });
    const reveals = [second.id, draft.id, admin, "deputy"]; // never named by the calls below
    const campaignScoped = (actorId: string): [string, () => Promise<unknown>][] => [
      ["updateCampaignSettings", () => engine.updateCampaignSettings({ actorId, campaignId, batchSize: 2 })],
      ["importContacts", () => engine.importContacts({ actorId, campaignId, contacts: [{ contactId: "new" }] })],
      ["addSenders", () => engine.addSenders({ actorId, campaignId, userIds: ["t1"] })],
      ["removeSender", () => engine.removeSender({ actorId, campaignId, userId: "t1" })],
      ["launchCampaign", () => engine.launchCampaign({ actorId, campaignId })],
      ["pauseCampaign", () => engine.pauseCampaign({ actorId, campaignId })],
      ["resumeCampaign", () => engine.resumeCampaign({ actorId, campaignId })],
      ["archiveCampaign", () => engine.archiveCampaign({ actorId, campaignId })],
      ["enableInviteLink", () => engine.enableInviteLink({ actorId, campaignId })],
      ["disableInviteLink", () => engine.disableInviteLink({ actorId, campaignId })],
      ["unassignAll", () => engine.unassignAll({ actorId, campaignId })],
      ["reassignSome", () => engine.reassignSome({ actorId, campaignId, from: "unassigned", filter: "any", count: 1, to: ["t1"] })],
      ["reassignAll", () => engine.reassignAll({ actorId, campaignId, from: { senderIds: ["t1"] }, filter: "any", to: ["t1"] })],
      ["getOverview", () => engine.getOverview({ actorId, campaignId })],
      ["getAssignments", () => engine.getAssignments({ actorId, campaignId, texterId: "t1" })],
      ["releaseConversations", () => engine.releaseConversations({ actorId, campaignId, conversationIds: [`${campaignId}:0`] })],
    ];
    const orgScoped = (actorId: string): [string, () => Promise<unknown>][] => [
      ["addMember", () => engine.addMember({ actorId, orgId, userId: "newbie", role: "texter" })],
      ["setMemberRole", () => engine.setMemberRole({ actorId, orgId, userId: "t1", role: "admin" })],
      ["removeMember", () => engine.removeMember({ actorId, orgId, userId: "t1" })],
      ["setDefaultBatchSize", () => engine.setDefaultBatchSize({ actorId, orgId, batchSize: 7 })],
      ["createCampaign", () => engine.createCampaign({ actorId, orgId, title: "sneaky" })],
    ];
    for (const actorId of ["stranger", "t2", "other-owner"]) {
      const calls = campaignScoped(actorId);
      const campaignNames = new Set(calls.map(([n]) => n));
      for (const [name, call] of [...calls, ...orgScoped(actorId)]) {
        const error = await failure(call());
        const said = `${error.message} ${JSON.stringify(error.details)}`;
        expect([name, error.code]).toEqual([name, expect.stringMatching(/^(NOT_A_MEMBER|NOT_AUTHORIZED|SELF_RELEASE_NOT_ALLOWED)$/)]);
        for (const secret of reveals) expect([name, said.includes(secret)]).toEqual([name, false]);
        // A campaign-scoped refusal does not even say which organization runs the campaign.
        if (campaignNames.has(name)) expect([name, said.includes(orgId)]).toEqual([name, false]);
      }
    }
  });
});

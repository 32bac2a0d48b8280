/**
 * A texter's repeated requests reuse the campaign context their last request read (one read fewer per
 * request), and never decide on a stale one: a pause, a settings change, a removal or a new batch size
 * made by another app server is seen by the very next request (S1, S2, C3, C7, T1). Two engines over one
 * in-memory storage stand for two app servers.
 */
import { describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { createMemoryStorage } from "../src/memory.js";
import type { StorageAdapter } from "../src/adapter.js";
import { manualClock } from "./helpers.js";

/** A storage whose context reads are counted. */
function counting(storage: StorageAdapter): { storage: StorageAdapter; reads: () => number } {
  let n = 0;
  const counted = new Proxy(storage, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== "getContext" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (...args: unknown[]) => (n++, value.apply(target, args));
    },
  });
  return { storage: counted, reads: () => n };
}

async function setUp(): Promise<{ a: Engine; b: Engine; reads: () => number; campaignId: string; clock: ReturnType<typeof manualClock> }> {
  const shared = createMemoryStorage();
  const clock = manualClock();
  const { storage, reads } = counting(shared);
  const a = createEngine({ storage, clock: clock.now });
  const b = createEngine({ storage: shared, clock: clock.now });
  const org = await b.createOrganization({ name: "Two servers", ownerId: "admin" });
  await b.addMembers({ actorId: "admin", orgId: org.id, members: ["t1", "t2"].map((userId) => ({ userId, role: "texter" as const })) });
  const c = await b.createCampaign({ actorId: "admin", orgId: org.id, title: "Recent" });
  await b.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: 200 }, (_, i) => ({ contactId: `c${i}` })) });
  await b.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 10, gate: "none", timeZone: "UTC", textingHoursStart: "09:00", textingHoursEnd: "16:00" });
  await b.launchCampaign({ actorId: "admin", campaignId: c.id });
  await b.addSenders({ actorId: "admin", campaignId: c.id, userIds: ["t1", "t2"] });
  return { a, b, reads, campaignId: c.id, clock }; // 15:00 UTC: inside texting hours
}

describe("the context of a texter's last request", () => {
  it("S2, S3: repeated requests read the campaign context once", async () => {
    const { a, reads, campaignId } = await setUp();
    for (let k = 0; k < 5; k++) expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    expect(reads()).toBe(1);
    await a.requestConversations({ campaignId, texterId: "t2" });
    expect(reads()).toBe(2); // another texter: their own read
  });

  it("S1, S2, C3, C7: a pause, a resume, a new batch size, self assignment turned off, a removal and a re-add made on another server are seen by the next request", async () => {
    const { a, b, campaignId } = await setUp();
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    await b.pauseCampaign({ actorId: "admin", campaignId });
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "campaign_not_active" });
    await b.resumeCampaign({ actorId: "admin", campaignId });
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    await b.updateCampaignSettings({ actorId: "admin", campaignId, batchSize: 3 });
    const smaller = await a.requestConversations({ campaignId, texterId: "t1" });
    expect(smaller.ok && smaller.conversations).toHaveLength(3);
    await b.updateCampaignSettings({ actorId: "admin", campaignId, enabled: false });
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "self_assignment_disabled" });
    await b.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true });
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    await b.removeSender({ actorId: "admin", campaignId, userId: "t1" });
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toEqual({ ok: false, reason: "not_a_sender" });
    // Added again (nothing in the campaign's version changes): the refusal was decided on a fresh read.
    await b.addSenders({ actorId: "admin", campaignId, userIds: ["t1"] });
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
  });

  it("T1: texting hours extended on another server after they closed are seen by the next request", async () => {
    const { a, b, campaignId, clock } = await setUp();
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    clock.advance(90 * 60_000); // 16:30 UTC: closed by the hours this server last read
    await b.updateCampaignSettings({ actorId: "admin", campaignId, textingHoursEnd: "18:00" });
    expect((await a.requestConversations({ campaignId, texterId: "t1" })).ok).toBe(true);
    await b.updateCampaignSettings({ actorId: "admin", campaignId, textingHoursEnd: "16:00" });
    expect(await a.requestConversations({ campaignId, texterId: "t1" })).toMatchObject({ ok: false, reason: "outside_texting_hours" });
  });
});

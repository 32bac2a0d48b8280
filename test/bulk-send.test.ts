/**
 * Bulk send (C4, C6) on every adapter: the bulk send finishes in the same atomic step as whatever
 * leaves nothing pending, a bulk-sending campaign can be paused and archived, the bulk send obeys the
 * time rules (T1–T3), and a bulk-send launch splits nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine, StorageAdapter } from "../src/index.js";
import { createEngine } from "../src/index.js";
import { readAllEvents } from "../src/testing/event-replay.js";
import { setup as baseSetup, uniqueId } from "./helpers.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

const HOUR = 3600_000;

describe.each(adapters)("bulk send on $name storage", ({ open }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });

  /** A campaign launched with bulk send; `contacts` contacts, senders t1..t3 added in draft. */
  async function bulk(options: { contacts?: number; zones?: (string | null)[]; settings?: Record<string, unknown> } = {}) {
    const s = await baseSetup({ texters: 3, engine: { storage: fixture.storage } });
    const contacts = options.zones
      ? options.zones.map((timeZone, i) => ({ contactId: `c${i}`, timeZone }))
      : Array.from({ length: options.contacts ?? 4 }, (_, i) => ({ contactId: `c${i}` }));
    if (contacts.length > 0) await s.engine.importContacts({ actorId: s.admin, campaignId: s.campaignId, contacts });
    await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: 10, gate: "none", ...options.settings });
    await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: s.texters });
    const launched = await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId, bulkSend: true });
    return { ...s, launched };
  }

  async function statusEvents(engine: Engine, campaignId: string) {
    return (await readAllEvents((after, limit) => engine.readEvents({ after, limit }))).filter(
      (e) => e.campaignId === campaignId && e.type === "campaign.status_changed",
    );
  }

  describe("C6: the bulk send finishes in the same step as whatever leaves nothing pending", () => {
    it("C6: an opt-out of the last pending contact makes the campaign active", async () => {
      const { engine, campaignId, orgId } = await bulk({ contacts: 2 });
      const leased = await engine.leaseInitialSends({ campaignId, workerId: "w", limit: 1 });
      await engine.acknowledgeInitialSends({ campaignId, workerId: "w", conversationIds: leased.map((c) => c.id) });
      expect((await engine.getCampaign(campaignId)).status).toBe("bulk_sending");
      await engine.optOut({ orgId, contactId: "c1" });
      expect((await engine.getCampaign(campaignId)).status).toBe("active");
      expect((await statusEvents(engine, campaignId)).map((e) => e.data)).toContainEqual({ from: "bulk_sending", to: "active" });
      expect(await engine.bulkSend({ campaignId, workerId: "w", send: async () => undefined })).toMatchObject({ sent: 0, finished: true });
    });

    it("C6: the host recording the last initial itself, or closing it, makes the campaign active", async () => {
      const a = await bulk({ contacts: 1 });
      await a.engine.recordInitialSent({ conversationId: `${a.campaignId}:0` });
      expect((await a.engine.getCampaign(a.campaignId)).status).toBe("active");
      const b = await bulk({ contacts: 1 });
      await b.engine.closeConversation({ conversationId: `${b.campaignId}:0` });
      expect((await b.engine.getCampaign(b.campaignId)).status).toBe("active");
    });

    it("C6: a campaign with no conversations (or only opted-out ones) is active at launch", async () => {
      const empty = await bulk({ contacts: 0 });
      expect(empty.launched.campaign.status).toBe("active");
      expect((await empty.engine.getCampaign(empty.campaignId)).status).toBe("active");
      expect(await empty.engine.bulkSend({ campaignId: empty.campaignId, workerId: "w", send: async () => undefined })).toMatchObject({ sent: 0, finished: true });

      const s = await baseSetup({ engine: { storage: fixture.storage } });
      await s.engine.optOut({ orgId: s.orgId, contactId: "gone" });
      await s.engine.importContacts({ actorId: s.admin, campaignId: s.campaignId, contacts: [{ contactId: "gone" }] });
      const launched = await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId, bulkSend: true });
      expect(launched.campaign.status).toBe("active");
    });

    it("C6: a worker that dies right after its last acknowledgement still leaves the campaign active", async () => {
      const { engine, campaignId, clock } = await bulk({ contacts: 3 });
      const leased = await engine.leaseInitialSends({ campaignId, workerId: "w", limit: 3 });
      // The worker's process dies as soon as the acknowledgement returns: no later storage call happens.
      let dead = false;
      const dying = new Proxy(fixture.storage, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== "function") return value;
          return async (...args: unknown[]) => {
            if (dead) throw new Error("process died");
            const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (prop === "acknowledgeInitialSends") dead = true;
            return result;
          };
        },
      }) as StorageAdapter;
      const worker = createEngine({ storage: dying, clock: clock.now });
      await worker.acknowledgeInitialSends({ campaignId, workerId: "w", conversationIds: leased.map((c) => c.id) }).catch(() => undefined);
      expect((await engine.getCampaign(campaignId)).status).toBe("active");
    });

    it("C6: a bulk-sending campaign can be paused (stopping the bulk send), resumed and archived", async () => {
      const { engine, campaignId, admin } = await bulk({ contacts: 3 });
      const paused = await engine.pauseCampaign({ actorId: admin, campaignId });
      expect(paused.status).toBe("paused");
      expect(await engine.leaseInitialSends({ campaignId, workerId: "w" })).toEqual([]);
      const sent: string[] = [];
      expect(await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.id) })).toEqual({
        sent: 0, aborted: false,
        finished: false,
        waiting: { reason: "paused", until: null },
      });
      expect(sent).toEqual([]);
      expect((await engine.resumeCampaign({ actorId: admin, campaignId })).status).toBe("bulk_sending");
      expect(await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.id) })).toEqual({ sent: 3, aborted: false, finished: true, waiting: null });
      expect((await engine.getCampaign(campaignId)).status).toBe("active");

      const other = await bulk({ contacts: 2 });
      expect((await other.engine.archiveCampaign({ actorId: other.admin, campaignId: other.campaignId })).status).toBe("archived");
      expect(await other.engine.leaseInitialSends({ campaignId: other.campaignId, workerId: "w" })).toEqual([]);
    });

    it("C6: an aborted worker stops after the send in flight, acknowledges what it sent and says so; aborted before it began, it fails with ABORTED", async () => {
      const { engine, campaignId } = await bulk({ contacts: 8 });
      const before = new AbortController();
      before.abort();
      await expect(engine.bulkSend({ campaignId, workerId: "w", send: async () => undefined, signal: before.signal })).rejects.toMatchObject({ code: "ABORTED" });
      expect((await engine.getBulkSendProgress({ campaignId })).sent).toBe(0);
      const controller = new AbortController();
      const sent: string[] = [];
      const result = await engine.bulkSend({
        campaignId,
        workerId: "w",
        batchSize: 2,
        signal: controller.signal,
        send: async (c) => {
          sent.push(c.id);
          if (sent.length === 3) controller.abort(); // during the second batch's first send
        },
      });
      expect(result).toEqual({ sent: 3, aborted: true, finished: false, waiting: null });
      expect((await engine.getBulkSendProgress({ campaignId })).sent).toBe(3);
      // A send given the signal (as a fetch is) fails when it aborts: that is the abort too, not a fault.
      const again = new AbortController();
      const more: string[] = [];
      const stopped = await engine.bulkSend({
        campaignId,
        workerId: "w2",
        batchSize: 1,
        signal: again.signal,
        send: async (c) => {
          if (more.length === 1) {
            again.abort();
            throw again.signal.reason;
          }
          more.push(c.id);
        },
      });
      expect(stopped).toEqual({ sent: 1, aborted: true, finished: false, waiting: null });
      // A send that fails on its own still throws, after what was sent is acknowledged.
      await expect(
        engine.bulkSend({ campaignId, workerId: "w3", send: async () => Promise.reject(new Error("SMS provider down")), signal: new AbortController().signal }),
      ).rejects.toThrow("SMS provider down");
      expect((await engine.getBulkSendProgress({ campaignId })).sent).toBe(4);
    });

    it("C6: when nothing is left pending while paused, resuming makes the campaign active", async () => {
      const { engine, campaignId, admin, orgId } = await bulk({ contacts: 1 });
      await engine.pauseCampaign({ actorId: admin, campaignId });
      await engine.optOut({ orgId, contactId: "c0" });
      expect((await engine.getCampaign(campaignId)).status).toBe("paused");
      expect((await engine.resumeCampaign({ actorId: admin, campaignId })).status).toBe("active");
    });
  });

  describe("C6, T1–T3: the bulk send obeys the time rules", () => {
    it("T1: outside the campaign's texting hours nothing is leased and bulkSend says when it goes on", async () => {
      const { engine, campaignId, clock } = await bulk({ contacts: 2 });
      clock.advance(12 * HOUR); // 22:00 in New York
      const sent: string[] = [];
      const night = await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.id) });
      expect(night).toEqual({ sent: 0, aborted: false, finished: false, waiting: { reason: "outside_texting_hours", until: Date.UTC(2026, 10, 4, 14, 0) } });
      expect(sent).toEqual([]);
      expect(await engine.leaseInitialSends({ campaignId, workerId: "w" })).toEqual([]);
      expect((await engine.getBulkSendProgress({ campaignId })).waiting).toEqual(night.waiting);
      clock.advance(11 * HOUR); // 09:00 in New York
      expect(await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.id) })).toEqual({ sent: 2, aborted: false, finished: true, waiting: null });
    });

    it("T3: no initial message before the start or after the end", async () => {
      const start = Date.UTC(2026, 10, 5, 15, 0);
      const early = await bulk({ contacts: 1, settings: { startsAt: start } });
      expect(await early.engine.bulkSend({ campaignId: early.campaignId, workerId: "w", send: async () => undefined })).toEqual({
        sent: 0, aborted: false,
        finished: false,
        waiting: { reason: "before_start", until: start },
      });
      const late = await bulk({ contacts: 1, settings: { endsAt: Date.UTC(2026, 10, 3, 16, 0) } });
      late.clock.advance(2 * HOUR);
      expect(await late.engine.leaseInitialSends({ campaignId: late.campaignId, workerId: "w" })).toEqual([]);
      expect(await late.engine.bulkSend({ campaignId: late.campaignId, workerId: "w", send: async () => undefined })).toEqual({
        sent: 0, aborted: false,
        finished: false,
        waiting: { reason: "campaign_ended", until: null },
      });
    });

    it("T2: contacts outside their own texting hours wait; the rest go out", async () => {
      // 15:00 UTC: 10:00 in New York, 00:00 in Tokyo (closed until 09:00 Tokyo = 00:00 UTC).
      const { engine, campaignId, clock } = await bulk({ zones: ["Asia/Tokyo", null, "America/New_York", "Asia/Tokyo"] });
      const sent: string[] = [];
      const first = await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.contactId) });
      expect(sent.sort()).toEqual(["c1", "c2"]);
      expect(first).toEqual({ sent: 2, aborted: false, finished: false, waiting: { reason: "outside_contact_hours", until: Date.UTC(2026, 10, 4, 0, 0) } });
      clock.advance(9 * HOUR); // 00:00 UTC: 09:00 in Tokyo
      expect(await engine.bulkSend({ campaignId, workerId: "w", send: async (c) => void sent.push(c.contactId) })).toEqual({
        sent: 2, aborted: false,
        finished: true,
        waiting: null,
      });
      expect(sent.sort()).toEqual(["c0", "c1", "c2", "c3"]);
    });
  });

  describe("C4, C6: a bulk-send launch splits nothing", () => {
    it("C4: senders added in draft get nothing at a bulk-send launch and never see not-started work", async () => {
      const { engine, campaignId, admin, texters, launched } = await bulk({ contacts: 6 });
      expect(launched.assigned).toBe(0);
      expect((await engine.getOverview({ actorId: admin, campaignId })).unassigned).toBe(6);
      for (const t of texters) expect(await engine.getAssignments({ actorId: t, campaignId, texterId: t })).toEqual([]);
      // An admin's reassignment during the bulk send moves no not-started work either.
      const moved = await engine.reassignAll({ actorId: admin, campaignId, from: "unassigned", filter: "any", to: ["t1"] });
      expect(moved.moved).toBe(0);
      expect(await engine.getAssignments({ actorId: "t1", campaignId, texterId: "t1" })).toEqual([]);
    });
  });

  it("C6: bulk-send results and progress are plain data; unknown ids still fail loudly", async () => {
    const { engine, campaignId } = await bulk({ contacts: 1 });
    expect(await engine.getBulkSendProgress({ campaignId })).toEqual({ total: 1, sent: 0, pending: 1, status: "bulk_sending", waiting: null });
    await expect(engine.bulkSend({ campaignId: uniqueId("nope"), workerId: "w", send: async () => undefined })).rejects.toMatchObject({ code: "CAMPAIGN_NOT_FOUND" });
  });
});

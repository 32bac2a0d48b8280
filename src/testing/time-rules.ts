/**
 * Time-rule checks for adapters (T2, T3, T4): what storage must do with the hand-out ranks, the
 * contact-zone test and stale release, checked through the engine on a controlled clock.
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import * as fc from "fast-check";
import type { StorageAdapter } from "../storage/contract.js";
import { readAllEvents, replayHolders } from "./event-replay.js";
import type { Inspector } from "./fixture.js";
import { scheduledStorage } from "./scheduled-storage.js";
import { type Clock, engineOn } from "./setup.js";

async function campaign(storage: StorageAdapter, clock: Clock, contacts: { contactId: string; timeZone?: string | null }[]) {
  const engine = engineOn(storage, clock, "time");
  const org = await engine.createOrganization({ name: "Time", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: ["t1", "t2"].map((userId) => ({ userId, role: "texter" as const })) });
  const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Time" });
  await engine.importContacts({ actorId: "admin", campaignId, contacts });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize: 10, gate: "none", timeZone: "America/New_York" });
  await engine.launchCampaign({ actorId: "admin", campaignId });
  await engine.addSenders({ actorId: "admin", campaignId, userIds: ["t1", "t2"] });
  return { engine, campaignId };
}

/** T2: not-started work of contacts outside texting hours is left in the pool; the rest is handed out. */
export async function checkContactZones(storage: StorageAdapter): Promise<void> {
  const clock = { now: Date.UTC(2026, 10, 3, 15, 0) }; // 10:00 New York, 07:00 Los Angeles, 23:00 Singapore
  const zones = ["Asia/Singapore", "America/Los_Angeles", null, "America/Chicago", "Asia/Singapore"];
  const { engine, campaignId } = await campaign(storage, clock, zones.map((timeZone, i) => ({ contactId: `z${i}`, timeZone })));
  const first = await engine.requestConversations({ campaignId, texterId: "t1" });
  deepStrictEqual(first.ok && first.conversations.map((c) => c.contactId), ["z2", "z3"], "T2: only contacts inside their hours (or of unknown zone)");
  clock.now += 3 * 3600_000; // 10:00 Los Angeles, 02:00 Singapore
  const second = await engine.requestConversations({ campaignId, texterId: "t2" });
  deepStrictEqual(second.ok && second.conversations.map((c) => c.contactId), ["z1"], "T2: a zone that opened is handed out");
}

/** T3: before the start nothing not-started is handed out; after the end only replies. */
export async function checkStartAndEnd(storage: StorageAdapter): Promise<void> {
  const clock = { now: Date.UTC(2026, 10, 3, 15, 0) };
  const { engine, campaignId } = await campaign(storage, clock, Array.from({ length: 4 }, (_, i) => ({ contactId: `s${i}` })));
  await engine.updateCampaignSettings({ actorId: "admin", campaignId, startsAt: clock.now + 3600_000, endsAt: clock.now + 7200_000 });
  const before = await engine.requestConversations({ campaignId, texterId: "t1" });
  deepStrictEqual(before, { ok: false, reason: "nothing_available" }, "T3: not-started work before the start");
  clock.now += 7200_000;
  const after = await engine.requestConversations({ campaignId, texterId: "t1" });
  deepStrictEqual(after, { ok: false, reason: "nothing_available" }, "T3: not-started work after the end");
}

/** T4: stale release frees idle work by texting time, atomically, even racing a reply and a request. */
export async function checkStaleRelease(storage: StorageAdapter, inspect: Inspector, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      const clock = { now: Date.UTC(2026, 10, 3, 15, 0) };
      const { engine, campaignId } = await campaign(storage, clock, Array.from({ length: 6 }, (_, i) => ({ contactId: `r${i}` })));
      await engine.updateCampaignSettings({ actorId: "admin", campaignId, batchSize: 3, releaseNotStartedAfterMs: 3600_000, releaseNeedsReplyAfterMs: 3600_000 });
      const got = await engine.requestConversations({ campaignId, texterId: "t1" });
      if (!got.ok) throw new Error("T4 check: expected conversations");
      const [idle, answered] = got.conversations;
      await engine.recordInitialSent({ conversationId: answered!.id });
      await engine.recordContactReply({ conversationId: answered!.id });
      clock.now += 3600_000 - 60_000;
      strictEqual((await engine.releaseStale({ campaignId })).released, 0, "T4: released before the limit");
      clock.now += 2 * 60_000;
      const raced = engineOn(scheduledStorage(s, storage), clock, "time");
      await s.waitFor(
        Promise.all([
          raced.releaseStale({ campaignId }),
          raced.recordTexterReply({ conversationId: answered!.id }).catch(() => undefined),
          raced.requestConversations({ campaignId, texterId: "t2" }),
        ]),
      );
      const rows = await inspect(campaignId);
      const replay = replayHolders(await readAllEvents((after, limit) => engine.readEvents({ after, limit })), campaignId);
      for (const row of rows) strictEqual(replay.get(row.id) ?? null, row.holder, "T4: events and stored holders disagree");
      strictEqual(rows.find((r) => r.id === idle!.id)!.holder === "t1", false, "T4: an idle not-started conversation was kept");
      for (const r of rows.filter((x) => x.holder === "t1")) strictEqual(r.status, "replied", "T4: kept something idle");
    }),
    { numRuns },
  );
}

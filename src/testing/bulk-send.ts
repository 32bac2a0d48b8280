/**
 * Bulk-send checks (C6): several workers drain the initial messages at once, interleaved by
 * `fc.scheduler()`, while one worker crashes holding leases; every conversation's initial message is
 * acknowledged exactly once, nothing is handed to a texter as not-started work meanwhile, and the
 * campaign becomes active at the end.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as fc from "fast-check";
import type { StorageAdapter } from "../storage/contract.js";
import { readAllEvents } from "./event-replay.js";
import type { Inspector } from "./fixture.js";
import { scheduledStorage } from "./scheduled-storage.js";
import { engineOn } from "./setup.js";

/** C6: concurrent workers and a crashed one send every initial message exactly once. */
export async function checkBulkSend(target: { storage: StorageAdapter; inspect: Inspector; numRuns: number }): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 7 }), async (s, contacts, batch) => {
      const clock = { now: Date.UTC(2026, 2, 9, 15, 0) };
      const plain = engineOn(target.storage, clock, "bulk");
      const org = await plain.createOrganization({ name: "Bulk", ownerId: "admin" });
      await plain.addMembers({ actorId: "admin", orgId: org.id, members: ["t1", "t2"].map((userId) => ({ userId, role: "texter" as const })) });
      const { id: campaignId } = await plain.createCampaign({ actorId: "admin", orgId: org.id, title: "Bulk" });
      await plain.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: contacts }, (_, i) => ({ contactId: `c${i}` })) });
      await plain.addSenders({ actorId: "admin", campaignId, userIds: ["t1"] });
      await plain.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize: 5, gate: "none" });
      await plain.launchCampaign({ actorId: "admin", campaignId, bulkSend: true });
      strictEqual((await plain.getCampaign(campaignId)).status, "bulk_sending");
      await plain.addSenders({ actorId: "admin", campaignId, userIds: ["t2"] });

      // A worker that crashes: it leases a batch and never acknowledges it.
      const crashed = await plain.leaseInitialSends({ campaignId, workerId: "crashed", limit: batch, leaseMs: 1000 });
      const engine = engineOn(scheduledStorage(s, target.storage), clock, "bulk");
      const sends = new Map<string, number>();
      const worker = (workerId: string) =>
        engine.bulkSend({
          campaignId,
          workerId,
          batchSize: batch,
          leaseMs: 1000,
          send: async (c) => {
            sends.set(c.id, (sends.get(c.id) ?? 0) + 1);
          },
        });
      // While the bulk send runs, a texter's request gets nothing not-started (C6).
      const during = engine.requestConversations({ campaignId, texterId: "t2" });
      const results = await s.waitFor(Promise.all([worker("w1"), worker("w2"), during]));
      const request = results[2];
      if (request.ok) ok(request.conversations.every((c) => c.status !== "not_started"), "C6: a not-started conversation was handed out during the bulk send");

      // The crashed worker's leases expire; a worker picks them up.
      clock.now += 1001;
      await plain.bulkSend({ campaignId, workerId: "w3", send: async (c) => void sends.set(c.id, (sends.get(c.id) ?? 0) + 1) });
      const late = await plain.acknowledgeInitialSends({ campaignId, workerId: "crashed", conversationIds: crashed.map((c) => c.id) });
      strictEqual(late.sent, 0, "C6: a crashed worker acknowledged a send another worker already made");
      const rows = await target.inspect(campaignId);
      strictEqual(rows.filter((r) => r.status === "not_started").length, 0, "C6: initial messages left unsent");
      // Exactly one acknowledged send per conversation, as the events record.
      const acked = (await readAllEvents((a, l) => plain.readEvents({ after: a, limit: l }))).filter(
        (e) => e.campaignId === campaignId && e.type === "conversation.status_changed" && e.data.to === "initial_sent",
      );
      const perConversation = new Map<string, number>();
      for (const e of acked) if (e.type === "conversation.status_changed") perConversation.set(e.data.conversationId, (perConversation.get(e.data.conversationId) ?? 0) + 1);
      deepStrictEqual([...perConversation.values()].filter((n) => n !== 1), [], "C6: a send acknowledged twice");
      strictEqual(perConversation.size, contacts, "C6: a send never acknowledged");
      strictEqual((await plain.getCampaign(campaignId)).status, "active", "C6: the campaign did not become active");
      const progress = await plain.getBulkSendProgress({ campaignId });
      deepStrictEqual({ total: progress.total, sent: progress.sent, pending: progress.pending }, { total: contacts, sent: contacts, pending: 0 });
    }),
    { numRuns: target.numRuns },
  );
}

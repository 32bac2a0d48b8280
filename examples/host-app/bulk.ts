/**
 * The bulk send (C6): after a launch with "bulk send", initial messages go out in the background.
 * Every app process runs a worker for each `bulk_sending` campaign it knows of (on launch, and at
 * start-up for one a crash interrupted); the engine leases the sends, so workers in several processes
 * never send one twice, and a dead worker's lease expires and is taken over.
 */
import type { Engine } from "selfassign";
import { initialMessage } from "./messages.js";
import type { FakeSms } from "./sms.js";
import type { MessageLog } from "./storage.js";

export function createBulkSender(engine: Engine, sms: FakeSms, log: MessageLog) {
  const running = new Map<string, AbortController>();
  const workerId = `worker-${process.pid}`;

  async function work(campaignId: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const result = await engine.bulkSend({
        campaignId,
        workerId,
        batchSize: 50,
        leaseMs: 60_000,
        signal,
        send: async (c) => {
          const text = initialMessage(null);
          await sms.send(campaignId, c.contactId, text);
          await log.add({ conversationId: c.id, direction: "out", text, at: Date.now() });
        },
      });
      if (result.finished || result.aborted) return;
      // Paused, outside texting hours, or the rest is leased to another worker: try again later.
      const status = (await engine.getCampaign(campaignId)).status;
      if (status !== "bulk_sending" && status !== "paused") return;
      const until = result.waiting?.until ?? Date.now() + 10_000;
      await new Promise((r) => setTimeout(r, Math.min(Math.max(until - Date.now(), 1000), 60_000)).unref());
    }
  }

  return {
    /** Start a worker for the campaign unless this process runs one. */
    start(campaignId: string): void {
      if (running.has(campaignId)) return;
      const abort = new AbortController();
      running.set(campaignId, abort);
      work(campaignId, abort.signal)
        .catch((e) => { if (!abort.signal.aborted) console.error(`[bulk] ${campaignId}:`, e); })
        .finally(() => running.delete(campaignId));
    },
    stop(): void {
      for (const abort of running.values()) abort.abort();
    },
  };
}

export type BulkSender = ReturnType<typeof createBulkSender>;

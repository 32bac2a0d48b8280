/**
 * Waiting, not failing (issue: state model) and observability (issue: host API): lost races are
 * decided again until a bounded wait or an AbortSignal ends them; every operation is traced on a
 * `selfassign:<operation>` diagnostics channel; waits and storage faults reach channels and a logger.
 */
import diagnostics from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import { AssignmentError, CHANNELS, createEngine, type StorageAdapter } from "../src/index.js";
import { createMemoryStorage } from "../src/memory.js";
import { setup } from "./helpers.js";

async function launched() {
  const s = await setup({ texters: 2, contacts: 20 });
  await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: 3, gate: "none" });
  await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId });
  await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: s.texters });
  return s;
}

/** Storage whose claims always lose their race. */
function alwaysConflicting(storage: StorageAdapter): StorageAdapter {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop === "claim") return async () => ({ kind: "conflict" });
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe("waiting, not failing", () => {
  it("a call that keeps losing its race waits up to waitTimeoutMs, then fails with TIMEOUT, having changed nothing", async () => {
    const storage = createMemoryStorage();
    const s = await setup({ texters: 1, contacts: 5, engine: { storage } });
    await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: 2 });
    await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId });
    await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: ["t1"] });
    const retries: unknown[] = [];
    const onRetry = (m: unknown) => retries.push(m);
    diagnostics.subscribe(CHANNELS.retry, onRetry);
    const warnings: string[] = [];
    const engine = createEngine({ storage: alwaysConflicting(storage), clock: s.clock.now, waitTimeoutMs: 80, logger: { warn: (m) => warnings.push(m) } });
    const started = performance.now();
    const error = await engine.requestConversations({ campaignId: s.campaignId, texterId: "t1" }).catch((e: unknown) => e);
    diagnostics.unsubscribe(CHANNELS.retry, onRetry);
    expect(error).toBeInstanceOf(AssignmentError);
    expect((error as AssignmentError).code).toBe("TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(80);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toEqual({ operation: "requestConversations", attempt: 1 });
    expect(warnings.some((w) => w.includes("gave up waiting"))).toBe(true);
    expect(storage.inspect(s.campaignId).conversations.every((c) => c.holder === null)).toBe(true);
  });

  it("an aborted signal stops a waiting call with ABORTED, having changed nothing", async () => {
    const storage = createMemoryStorage();
    const s = await setup({ texters: 1, contacts: 5, engine: { storage } });
    await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: 2 });
    await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId });
    await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: ["t1"] });
    const engine = createEngine({ storage: alwaysConflicting(storage), clock: s.clock.now, waitTimeoutMs: 60_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("texter closed the page")), 30);
    const error = await engine.requestConversations({ campaignId: s.campaignId, texterId: "t1", signal: controller.signal }).catch((e: unknown) => e);
    expect((error as AssignmentError).code).toBe("ABORTED");
    expect(((error as AssignmentError).cause as Error).message).toBe("texter closed the page");
    const pre = new AbortController();
    pre.abort();
    expect((await s.engine.pauseCampaign({ actorId: s.admin, campaignId: s.campaignId, signal: pre.signal }).catch((e: AssignmentError) => e.code))).toBe("ABORTED");
    expect((await s.engine.getCampaign(s.campaignId)).status).toBe("active");
  });
});

describe("observability", () => {
  it("every operation is traced on selfassign:<operation> with its campaign, actor and outcome", async () => {
    const { engine, campaignId } = await launched();
    const seen: { event: string; operation: string; campaignId?: string; actorId?: string; outcome?: string }[] = [];
    const tc = diagnostics.tracingChannel("selfassign:requestConversations");
    const handlers = {
      start: (c: object) => seen.push({ event: "start", ...(c as { operation: string }) }),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: (c: object) => seen.push({ event: "asyncEnd", ...(c as { operation: string; outcome: string }) }),
      error: (c: object) => seen.push({ event: "error", ...(c as { operation: string }) }),
    };
    tc.subscribe(handlers);
    await engine.requestConversations({ campaignId, texterId: "t1" });
    await engine.requestConversations({ campaignId, texterId: "nobody" });
    await engine.requestConversations({ campaignId: "", texterId: "t1" }).catch(() => undefined);
    tc.unsubscribe(handlers);
    expect(seen.map((e) => [e.event, e.campaignId, e.actorId, e.outcome])).toEqual([
      ["start", campaignId, "t1", undefined],
      ["asyncEnd", campaignId, "t1", "ok"],
      ["start", campaignId, "nobody", undefined],
      ["asyncEnd", campaignId, "nobody", "refused:not_a_sender"],
      ["start", "", "t1", undefined],
      ["error", "", "t1", undefined],
      ["asyncEnd", "", "t1", undefined], // Node ends a rejected call's trace after its error
    ]);
  });

  it("a storage fault reaches the selfassign:storage-error channel and the logger", async () => {
    const broken = new Proxy(createMemoryStorage(), {
      get(target, prop, receiver) {
        if (prop === "getOrganization") return async () => Promise.reject(new Error("disk on fire"));
        return Reflect.get(target, prop, receiver);
      },
    });
    const faults: unknown[] = [];
    const onFault = (m: unknown) => faults.push(m);
    diagnostics.subscribe(CHANNELS.storageError, onFault);
    const warned: Record<string, unknown>[] = [];
    const engine = createEngine({ storage: broken, logger: { warn: (_m, data) => warned.push(data) } });
    const error = (await engine.getOrganization("x").catch((e: unknown) => e)) as AssignmentError;
    diagnostics.unsubscribe(CHANNELS.storageError, onFault);
    expect(error.code).toBe("STORAGE_ERROR");
    expect(faults).toEqual([{ method: "getOrganization", outcome: "not_applied", error: expect.any(Error) }]);
    expect(warned).toEqual([{ method: "getOrganization", outcome: "not_applied", error: expect.any(Error) }]);
  });
});

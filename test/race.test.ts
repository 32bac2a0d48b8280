import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createEngine, type Engine, isAssignmentError, type RequestResult } from "../src/index.js";
import { createMemoryStorage, type MemoryStorage } from "../src/memory.js";
import { readAllEvents, replayHolders } from "../src/testing/event-replay.js";
import { scheduledStorage } from "../src/testing/scheduled-storage.js";
import { numRuns } from "./numruns.js";

const ADMIN = "admin";
const TEXTERS = ["t1", "t2", "t3", "t4", "t5", "t6"];

async function world(
  s: fc.Scheduler,
  opts: { contacts: number; batchSize: number; senders?: string[]; gate?: "no-pending-initials" | "none"; cap?: number | null },
) {
  const storage = createMemoryStorage();
  // Set up without the scheduler, then race through it.
  const setupEngine = createEngine({ storage, generateId: (k) => (k === "organization" ? "org" : "cmp") });
  await setupEngine.createOrganization({ name: "Org", ownerId: ADMIN });
  for (const t of [...TEXTERS, "joiner"]) await setupEngine.addMember({ actorId: ADMIN, orgId: "org", userId: t, role: "texter" });
  await setupEngine.createCampaign({ actorId: ADMIN, orgId: "org", title: "Race" });
  await setupEngine.importContacts({
    actorId: ADMIN,
    campaignId: "cmp",
    contacts: Array.from({ length: opts.contacts }, (_, i) => ({ contactId: `c${i}` })),
  });
  await setupEngine.updateCampaignSettings({
    actorId: ADMIN,
    campaignId: "cmp",
    enabled: true,
    batchSize: opts.batchSize,
    gate: opts.gate ?? "no-pending-initials",
    maxHeldPerTexter: opts.cap ?? null,
  });
  await setupEngine.launchCampaign({ actorId: ADMIN, campaignId: "cmp" });
  await setupEngine.addSenders({ actorId: ADMIN, campaignId: "cmp", userIds: opts.senders ?? TEXTERS });
  const { token } = await setupEngine.enableInviteLink({ actorId: ADMIN, campaignId: "cmp" });
  const engine = createEngine({ storage: scheduledStorage(s, storage) });
  return { engine, storage, token, plain: setupEngine };
}

/** I1, I2 and the event log: persisted holders match the replayed events; every holder is a sender. */
async function checkConsistency(engine: Engine, storage: MemoryStorage, contacts: number) {
  const rows = storage.inspect("cmp").conversations;
  expect(rows).toHaveLength(contacts);
  expect(new Set(rows.map((r) => r.id)).size).toBe(contacts);
  const campaign = await engine.getCampaign("cmp");
  const senders = new Set(campaign.senders.map((s) => s.userId));
  for (const r of rows) if (r.holder !== null) expect(senders.has(r.holder)).toBe(true);
  const replayed = replayHolders(await readAllEvents((a, l) => storage.readEvents(a, l)), "cmp");
  for (const r of rows) expect(replayed.get(r.id) ?? null).toBe(r.holder);
  const overview = await engine.getOverview({ actorId: ADMIN, campaignId: "cmp" });
  expect(overview.unassigned + overview.senders.reduce((n, s) => n + s.held, 0)).toBe(contacts);
}

describe("race tests (fc.scheduler) on the in-memory adapter", () => {
  it("I1, I3: many texters requesting at once never share a conversation", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 7 }), async (s, contacts, batch) => {
        const { engine, storage, plain } = await world(s, { contacts, batchSize: batch });
        const calls = TEXTERS.map((t) => engine.requestConversations({ campaignId: "cmp", texterId: t }));
        const results = await s.waitFor(Promise.all(calls));
        const handed = results.flatMap((r) => (r.ok ? r.conversations.map((c) => c.id) : []));
        expect(new Set(handed).size).toBe(handed.length);
        for (const r of results) if (r.ok) expect(r.conversations.length).toBeLessThanOrEqual(batch);
        expect(handed.length).toBe(Math.min(contacts, batch * TEXTERS.length));
        for (const r of results) if (!r.ok) expect(r.reason).toBe("nothing_available");
        await checkConsistency(plain, storage, contacts);
      }),
      { numRuns: numRuns(500) },
    );
  });

  it("S5, I5: one texter double-clicking passes the gate at most once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), async (s, clicks) => {
        const { engine, storage, plain } = await world(s, { contacts: 30, batchSize: 4 });
        const calls = Array.from({ length: clicks }, () => engine.requestConversations({ campaignId: "cmp", texterId: "t1" }));
        const results: RequestResult[] = await s.waitFor(Promise.all(calls));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        for (const r of results) if (!r.ok) expect(r.reason).toBe("batch_unfinished");
        expect(storage.inspect("cmp").conversations.filter((c) => c.holder === "t1")).toHaveLength(4);
        await checkConsistency(plain, storage, 30);
      }),
      { numRuns: numRuns(300) },
    );
  });

  it("S7, I3: simultaneous requests never take a texter over the cap", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 9 }), async (s, cap) => {
        const { engine, storage, plain } = await world(s, { contacts: 30, batchSize: 4, gate: "none", cap });
        const calls = Array.from({ length: 4 }, () => engine.requestConversations({ campaignId: "cmp", texterId: "t1" }));
        await s.waitFor(Promise.all(calls));
        expect(storage.inspect("cmp").conversations.filter((c) => c.holder === "t1").length).toBe(Math.min(cap, 16));
        await checkConsistency(plain, storage, 30);
      }),
      { numRuns: numRuns(300) },
    );
  });

  it("S8: a double click with one idempotency key assigns one batch and returns it twice", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { engine, storage, plain } = await world(s, { contacts: 30, batchSize: 4, gate: "none" });
        const calls = [1, 2, 3].map(() => engine.requestConversations({ campaignId: "cmp", texterId: "t1", idempotencyKey: "click-1" }));
        const results = await s.waitFor(Promise.all(calls));
        const ids = results.map((r) => (r.ok ? r.conversations.map((c) => c.id).join(",") : r.reason));
        expect(new Set(ids).size).toBe(1);
        expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
        expect(storage.inspect("cmp").conversations.filter((c) => c.holder === "t1")).toHaveLength(4);
        await checkConsistency(plain, storage, 30);
      }),
      { numRuns: numRuns(300) },
    );
  });

  it("L3, I7: one member joining by invite twice at once gets one first batch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { engine, storage, token, plain } = await world(s, { contacts: 30, batchSize: 5 });
        const calls = [
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.requestConversations({ campaignId: "cmp", texterId: "joiner" }),
        ];
        await s.waitFor(Promise.all(calls));
        expect(storage.inspect("cmp").conversations.filter((c) => c.holder === "joiner")).toHaveLength(5);
        const campaign = await plain.getCampaign("cmp");
        expect(campaign.senders.filter((x) => x.userId === "joiner")).toHaveLength(1);
        await checkConsistency(plain, storage, 30);
      }),
      { numRuns: numRuns(300) },
    );
  });

  it("I1, I2: bulk unassign, reassign, removal, releases and status changes interleaved with requests and joins", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 3, maxLength: 10 }),
        async (s, ops) => {
          const { engine, storage, token, plain } = await world(s, { contacts: 25, batchSize: 3, gate: "none" });
          await plain.updateCampaignSettings({ actorId: ADMIN, campaignId: "cmp", allowSelfRelease: true });
          const tolerate = (p: Promise<unknown>) =>
            p.catch((e: unknown) => {
              // Racing admin operations may legitimately be refused (a removed sender, a released
              // conversation); a storage fault never is.
              if (!isAssignmentError(e) || e.code === "STORAGE_ERROR") throw e;
            });
          const calls = ops.map((op, i) => {
            const t = TEXTERS[i % TEXTERS.length]!;
            switch (op) {
              case 0:
              case 1:
                return engine.requestConversations({ campaignId: "cmp", texterId: t });
              case 2:
                return tolerate(engine.unassignAll({ actorId: ADMIN, campaignId: "cmp" }));
              case 3:
                return tolerate(
                  engine.reassignSome({ actorId: ADMIN, campaignId: "cmp", from: "unassigned", filter: "any", count: 4, to: [t, "t1"] }),
                );
              case 4:
                return tolerate(engine.removeSender({ actorId: ADMIN, campaignId: "cmp", userId: t }));
              case 5:
                return engine.joinByInvite({ token, userId: "joiner" });
              case 6:
                return tolerate(
                  engine.recordInitialSent({ conversationId: `cmp:${i}` }).then(() => engine.recordContactReply({ conversationId: `cmp:${i}` })),
                );
              default:
                return tolerate(
                  storage.listConversations({ campaignId: "cmp", holderId: t, statuses: "all", limit: 2 }).then((held) =>
                    held.length === 0
                      ? undefined
                      : engine.releaseConversations({ actorId: t, campaignId: "cmp", conversationIds: held.map((c) => c.id) }),
                  ),
                );
            }
          });
          await s.waitFor(Promise.all(calls));
          await checkConsistency(plain, storage, 25);
        },
      ),
      { numRuns: numRuns(500) },
    );
  });
});

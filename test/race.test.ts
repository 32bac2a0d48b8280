import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine, isAssignmentError, type RequestResult } from "../src/index.js";
import { readAllEvents, replayHolders } from "../src/testing/event-replay.js";
import { scheduledStorage } from "../src/testing/scheduled-storage.js";
import type { StorageAdapter } from "../src/storage/contract.js";
import type { Inspector } from "../src/testing/world.js";
import { uniqueId } from "./helpers.js";
import { numRuns } from "./numruns.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

const ADMIN = "admin";
const TEXTERS = ["t1", "t2", "t3", "t4", "t5", "t6"];

async function world(
  storage: StorageAdapter,
  s: fc.Scheduler,
  opts: { contacts: number; batchSize: number; senders?: string[]; gate?: "no-pending-initials" | "none"; cap?: number | null },
) {
  // Set up without the scheduler, then race through it.
  const setupEngine = createEngine({ storage, generateId: (k) => uniqueId(k) });
  const org = await setupEngine.createOrganization({ name: "Org", ownerId: ADMIN });
  for (const t of [...TEXTERS, "joiner"]) await setupEngine.addMember({ actorId: ADMIN, orgId: org.id, userId: t, role: "texter" });
  const campaign = await setupEngine.createCampaign({ actorId: ADMIN, orgId: org.id, title: "Race" });
  const cmp = campaign.id;
  await setupEngine.importContacts({
    actorId: ADMIN,
    campaignId: cmp,
    contacts: Array.from({ length: opts.contacts }, (_, i) => ({ contactId: `c${i}` })),
  });
  await setupEngine.updateCampaignSettings({
    actorId: ADMIN,
    campaignId: cmp,
    enabled: true,
    batchSize: opts.batchSize,
    gate: opts.gate ?? "no-pending-initials",
    maxHeldPerTexter: opts.cap ?? null,
  });
  await setupEngine.launchCampaign({ actorId: ADMIN, campaignId: cmp });
  await setupEngine.addSenders({ actorId: ADMIN, campaignId: cmp, userIds: opts.senders ?? TEXTERS });
  const { token } = await setupEngine.enableInviteLink({ actorId: ADMIN, campaignId: cmp });
  const engine = createEngine({ storage: scheduledStorage(s, storage) });
  return { engine, token, plain: setupEngine, cmp };
}

/** I1, I2 and the event log: persisted holders match the replayed events; every holder is a sender. */
async function checkConsistency(engine: Engine, inspect: Inspector, cmp: string, contacts: number) {
  const rows = await inspect(cmp);
  expect(rows).toHaveLength(contacts);
  expect(new Set(rows.map((r) => r.id)).size).toBe(contacts);
  const campaign = await engine.getCampaign(cmp);
  const senders = new Set(campaign.senders.map((s) => s.userId));
  for (const r of rows) if (r.holder !== null) expect(senders.has(r.holder)).toBe(true);
  const replayed = replayHolders(await readAllEvents((a, l) => engine.readEvents({ after: a, limit: l })), cmp);
  for (const r of rows) expect(replayed.get(r.id) ?? null).toBe(r.holder);
  const overview = await engine.getOverview({ actorId: ADMIN, campaignId: cmp });
  expect(overview.unassigned + overview.senders.reduce((n, s) => n + s.held, 0)).toBe(contacts);
}

describe.each(adapters)("race tests (fc.scheduler) on $name storage", ({ open, runs }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const size = (n: number) => numRuns(Math.ceil(n * Math.max(runs, 0.06)));

  it("I1, I3: many texters requesting at once never share a conversation", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 7 }), async (s, contacts, batch) => {
        const { engine, plain, cmp } = await world(fixture.storage, s, { contacts, batchSize: batch });
        const calls = TEXTERS.map((t) => engine.requestConversations({ campaignId: cmp, texterId: t }));
        const results = await s.waitFor(Promise.all(calls));
        const handed = results.flatMap((r) => (r.ok ? r.conversations.map((c) => c.id) : []));
        expect(new Set(handed).size).toBe(handed.length);
        for (const r of results) if (r.ok) expect(r.conversations.length).toBeLessThanOrEqual(batch);
        expect(handed.length).toBe(Math.min(contacts, batch * TEXTERS.length));
        for (const r of results) if (!r.ok) expect(r.reason).toBe("nothing_available");
        await checkConsistency(plain, fixture.inspect, cmp, contacts);
      }),
      { numRuns: size(500) },
    );
  });

  it("S5, I5: one texter double-clicking passes the gate at most once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), async (s, clicks) => {
        const { engine, plain, cmp } = await world(fixture.storage, s, { contacts: 30, batchSize: 4 });
        const calls = Array.from({ length: clicks }, () => engine.requestConversations({ campaignId: cmp, texterId: "t1" }));
        const results: RequestResult[] = await s.waitFor(Promise.all(calls));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        for (const r of results) if (!r.ok) expect(r.reason).toBe("batch_unfinished");
        expect((await fixture.inspect(cmp)).filter((c) => c.holder === "t1")).toHaveLength(4);
        await checkConsistency(plain, fixture.inspect, cmp, 30);
      }),
      { numRuns: size(300) },
    );
  });

  it("S7, I3: simultaneous requests never take a texter over the cap", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 9 }), async (s, cap) => {
        const { engine, plain, cmp } = await world(fixture.storage, s, { contacts: 30, batchSize: 4, gate: "none", cap });
        const calls = Array.from({ length: 4 }, () => engine.requestConversations({ campaignId: cmp, texterId: "t1" }));
        await s.waitFor(Promise.all(calls));
        expect((await fixture.inspect(cmp)).filter((c) => c.holder === "t1").length).toBe(Math.min(cap, 16));
        await checkConsistency(plain, fixture.inspect, cmp, 30);
      }),
      { numRuns: size(300) },
    );
  });

  it("S8: a double click with one idempotency key assigns one batch and returns it twice", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { engine, plain, cmp } = await world(fixture.storage, s, { contacts: 30, batchSize: 4, gate: "none" });
        const calls = [1, 2, 3].map(() => engine.requestConversations({ campaignId: cmp, texterId: "t1", idempotencyKey: "click-1" }));
        const results = await s.waitFor(Promise.all(calls));
        const ids = results.map((r) => (r.ok ? r.conversations.map((c) => c.id).join(",") : r.reason));
        expect(new Set(ids).size).toBe(1);
        expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
        expect((await fixture.inspect(cmp)).filter((c) => c.holder === "t1")).toHaveLength(4);
        await checkConsistency(plain, fixture.inspect, cmp, 30);
      }),
      { numRuns: size(300) },
    );
  });

  it("L3, I7: one member joining by invite twice at once gets one first batch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const { engine, token, plain, cmp } = await world(fixture.storage, s, { contacts: 30, batchSize: 5 });
        const calls = [
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.requestConversations({ campaignId: cmp, texterId: "joiner" }),
        ];
        await s.waitFor(Promise.all(calls));
        expect((await fixture.inspect(cmp)).filter((c) => c.holder === "joiner")).toHaveLength(5);
        const campaign = await plain.getCampaign(cmp);
        expect(campaign.senders.filter((x) => x.userId === "joiner")).toHaveLength(1);
        await checkConsistency(plain, fixture.inspect, cmp, 30);
      }),
      { numRuns: size(300) },
    );
  });

  it("I1, I2: bulk unassign, reassign, removal, releases and status changes interleaved with requests and joins", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 3, maxLength: 10 }),
        async (s, ops) => {
          const { engine, token, plain, cmp } = await world(fixture.storage, s, { contacts: 25, batchSize: 3, gate: "none" });
          await plain.updateCampaignSettings({ actorId: ADMIN, campaignId: cmp, allowSelfRelease: true });
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
                return engine.requestConversations({ campaignId: cmp, texterId: t });
              case 2:
                return tolerate(engine.unassignAll({ actorId: ADMIN, campaignId: cmp }));
              case 3:
                return tolerate(
                  engine.reassignSome({ actorId: ADMIN, campaignId: cmp, from: "unassigned", filter: "any", count: 4, to: [t, "t1"] }),
                );
              case 4:
                return tolerate(engine.removeSender({ actorId: ADMIN, campaignId: cmp, userId: t }));
              case 5:
                return engine.joinByInvite({ token, userId: "joiner" });
              case 6:
                return tolerate(
                  engine.recordInitialSent({ conversationId: `${cmp}:${i}` }).then(() => engine.recordContactReply({ conversationId: `${cmp}:${i}` })),
                );
              default:
                return tolerate(
                  fixture.storage.listConversations({ campaignId: cmp, holderId: t, statuses: "all", limit: 2 }).then((held) =>
                    held.length === 0
                      ? undefined
                      : engine.releaseConversations({ actorId: t, campaignId: cmp, conversationIds: held.map((c) => c.id) }),
                  ),
                );
            }
          });
          await s.waitFor(Promise.all(calls));
          await checkConsistency(plain, fixture.inspect, cmp, 25);
        },
      ),
      { numRuns: size(500) },
    );
  });
});

/**
 * Scheduled race checks (`fc.scheduler()`): concurrent requests, double clicks, caps, idempotency
 * keys, invite joins, and admin moves interleaved with requests — every storage call a point where
 * the scheduler may run something else. Each check throws (through `fc.assert`) on a violation.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import * as fc from "fast-check";
import type { Engine } from "../engine/engine.js";
import type { RequestResult } from "../engine/results.js";
import { isAssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { GatePolicy } from "../types.js";
import { readAllEvents, replayHolders } from "./event-replay.js";
import type { Inspector } from "./fixture.js";
import { scheduledStorage } from "./scheduled-storage.js";
import { MONDAY_10AM, allSenders, campaignWorld, engineOn } from "./setup.js";

const ADMIN = "admin";
const TEXTERS = ["t1", "t2", "t3", "t4", "t5", "t6"];

/** What a race check needs: the storage under test, its independent reader, and a run count. */
export interface RaceTarget {
  /** The storage (shared by all runs; every run uses fresh ids). */
  readonly storage: StorageAdapter;
  /** Independent reader of persisted conversations. */
  readonly inspect: Inspector;
  /** Property runs. */
  readonly numRuns: number;
}

async function world(storage: StorageAdapter, s: fc.Scheduler, opts: { contacts: number; batchSize: number; gate?: GatePolicy; cap?: number | null }) {
  // Set up without the scheduler, then race through it.
  const clock = { now: MONDAY_10AM };
  const plain = engineOn(storage, clock, "race");
  const { campaignId: cmp, token } = await campaignWorld(plain, { ...opts, members: [...TEXTERS, "joiner"], senders: TEXTERS });
  const engine = engineOn(scheduledStorage(s, storage), clock, "race");
  return { engine, token, plain, cmp };
}

/** I1, I2 and the event log: persisted holders equal the replayed events; every holder is a sender. */
async function consistent(engine: Engine, inspect: Inspector, cmp: string, contacts: number): Promise<void> {
  const rows = await inspect(cmp);
  strictEqual(rows.length, contacts, "I2: conversations lost or added");
  strictEqual(new Set(rows.map((r) => r.id)).size, contacts, "I2: a conversation stored twice");
  const senders = new Set((await allSenders(engine, cmp)).map((s) => s.userId));
  for (const r of rows) if (r.holder !== null) ok(senders.has(r.holder), `I2: ${r.id} held by non-sender ${r.holder}`);
  const replayed = replayHolders(await readAllEvents((a, l) => engine.readEvents({ after: a, limit: l })), cmp);
  for (const r of rows) strictEqual(replayed.get(r.id) ?? null, r.holder, `Events: ${r.id} replays to another holder`);
  const overview = await engine.getOverview({ actorId: ADMIN, campaignId: cmp });
  strictEqual(overview.unassigned + overview.senders.reduce((n, s) => n + s.held, 0), contacts, "A1: counts do not add up");
}

const held = async (inspect: Inspector, cmp: string, who: string) => (await inspect(cmp)).filter((r) => r.holder === who).length;

/** I1, I3: many texters requesting at once never share a conversation; each gets at most a batch. */
export async function raceManyTexters(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 7 }), async (s, contacts, batch) => {
      const { engine, plain, cmp } = await world(t.storage, s, { contacts, batchSize: batch });
      const results = await s.waitFor(Promise.all(TEXTERS.map((x) => engine.requestConversations({ campaignId: cmp, texterId: x }))));
      const handed = results.flatMap((r) => (r.ok ? r.conversations.map((c) => c.id) : []));
      strictEqual(new Set(handed).size, handed.length, "I1: a conversation handed out twice");
      for (const r of results) if (r.ok) ok(r.conversations.length <= batch, "I3: more than a batch");
      strictEqual(handed.length, Math.min(contacts, batch * TEXTERS.length), "S3: the pool was not handed out");
      for (const r of results) if (!r.ok) strictEqual(r.reason, "nothing_available");
      await consistent(plain, t.inspect, cmp, contacts);
    }),
    { numRuns: t.numRuns },
  );
}

/** S5, I5: one texter double-clicking passes the gate at most once. */
export async function raceDoubleClickGate(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), async (s, clicks) => {
      const { engine, plain, cmp } = await world(t.storage, s, { contacts: 30, batchSize: 4 });
      const calls = Array.from({ length: clicks }, () => engine.requestConversations({ campaignId: cmp, texterId: "t1" }));
      const results: RequestResult[] = await s.waitFor(Promise.all(calls));
      strictEqual(results.filter((r) => r.ok).length, 1, "I5: the gate was passed more than once");
      for (const r of results) if (!r.ok) strictEqual(r.reason, "batch_unfinished");
      strictEqual(await held(t.inspect, cmp, "t1"), 4);
      await consistent(plain, t.inspect, cmp, 30);
    }),
    { numRuns: t.numRuns },
  );
}

/** S7, I3: simultaneous requests never take a texter over the cap. */
export async function raceCap(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 9 }), async (s, cap) => {
      const { engine, plain, cmp } = await world(t.storage, s, { contacts: 30, batchSize: 4, gate: "none", cap });
      await s.waitFor(Promise.all(Array.from({ length: 4 }, () => engine.requestConversations({ campaignId: cmp, texterId: "t1" }))));
      strictEqual(await held(t.inspect, cmp, "t1"), Math.min(cap, 16), "I3: the cap was exceeded or not filled");
      await consistent(plain, t.inspect, cmp, 30);
    }),
    { numRuns: t.numRuns },
  );
}

/** S8: a triple click with one idempotency key assigns one batch and returns it each time. */
export async function raceIdempotency(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      const { engine, plain, cmp } = await world(t.storage, s, { contacts: 30, batchSize: 4, gate: "none" });
      const calls = [1, 2, 3].map(() => engine.requestConversations({ campaignId: cmp, texterId: "t1", idempotencyKey: "click-1" }));
      const results = await s.waitFor(Promise.all(calls));
      const ids = results.map((r) => (r.ok ? r.conversations.map((c) => c.id).join(",") : r.reason));
      strictEqual(new Set(ids).size, 1, "S8: retries returned different results");
      strictEqual(results.filter((r) => r.ok && !r.replayed).length, 1, "S8: more than one original result");
      strictEqual(await held(t.inspect, cmp, "t1"), 4, "S8: more than one batch assigned");
      await consistent(plain, t.inspect, cmp, 30);
    }),
    { numRuns: t.numRuns },
  );
}

/** L3, I7: one member joining twice at once, while requesting, gets one first batch and is one sender. */
export async function raceInviteJoins(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), async (s) => {
      const { engine, plain, cmp, token } = await world(t.storage, s, { contacts: 30, batchSize: 5 });
      await s.waitFor(
        Promise.all([
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.joinByInvite({ token, userId: "joiner" }),
          engine.requestConversations({ campaignId: cmp, texterId: "joiner" }),
        ]),
      );
      strictEqual(await held(t.inspect, cmp, "joiner"), 5, "I7: not exactly one first batch");
      strictEqual((await allSenders(plain, cmp)).filter((x) => x.userId === "joiner").length, 1, "L3: the joiner is not exactly one sender");
      await consistent(plain, t.inspect, cmp, 30);
    }),
    { numRuns: t.numRuns },
  );
}

/** I1, I2: unassign all, reassign, sender removal, releases and status changes interleaved with requests and joins. */
export async function raceAdminMoves(t: RaceTarget): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 3, maxLength: 10 }), async (s, ops) => {
      const { engine, plain, cmp, token } = await world(t.storage, s, { contacts: 25, batchSize: 3, gate: "none" });
      const ids = (await t.inspect(cmp)).map((r) => r.id);
      // Racing admin operations may legitimately be refused (a removed sender, a released
      // conversation); a storage fault never is.
      const tolerate = (p: Promise<unknown>) =>
        p.catch((e: unknown) => {
          if (!isAssignmentError(e) || e.code === "STORAGE_ERROR") throw e;
        });
      const calls = ops.map((op, i) => {
        const x = TEXTERS[i % TEXTERS.length]!;
        switch (op) {
          case 0:
          case 1:
            return engine.requestConversations({ campaignId: cmp, texterId: x });
          case 2:
            return tolerate(engine.unassignAll({ actorId: ADMIN, campaignId: cmp }));
          case 3:
            return tolerate(engine.reassignSome({ actorId: ADMIN, campaignId: cmp, from: "unassigned", filter: "any", count: 4, to: [x, "t1"] }));
          case 4:
            return tolerate(engine.removeSender({ actorId: ADMIN, campaignId: cmp, userId: x }));
          case 5:
            return engine.joinByInvite({ token, userId: "joiner" });
          case 6:
            return tolerate(
              engine
                .recordInitialSent({ conversationId: ids[i % ids.length]! })
                .then(() => engine.recordContactReply({ conversationId: ids[i % ids.length]! })),
            );
          default:
            return tolerate(
              engine.getAssignments({ actorId: x, campaignId: cmp, texterId: x, limit: 2 }).then((mine) =>
                mine.length === 0 ? undefined : engine.releaseConversations({ actorId: x, campaignId: cmp, conversationIds: mine.map((c) => c.id) }),
              ),
            );
        }
      });
      await s.waitFor(Promise.all(calls));
      await consistent(plain, t.inspect, cmp, 25);
    }),
    { numRuns: t.numRuns },
  );
}

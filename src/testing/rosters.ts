/**
 * Roster checks (issue "hold up under real organizations"; DESIGN.md, "Scale rules"): sets are
 * rows — a rush of members joining by invite, bulk adds of members and senders racing joins — and
 * locks queue fairly — an admin's pause gets its turn while texters keep requesting, and no claim
 * decided before it commits after it.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { Engine } from "../engine/engine.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { Member, SelfAssignEvent } from "../types.js";
import { readAllEvents, replayHolders } from "./event-replay.js";
import type { Target } from "./fixture.js";
import { MONDAY_10AM, allSenders, campaignWorld, engineOn } from "./setup.js";

/** Sizes of the roster checks. */
export interface RosterOptions {
  /** Members who join at once in the join rush (default 60; CI-sized — the benchmarks go to 1,000). */
  readonly members?: number;
  /** Longest an admin's pause may wait while texters keep requesting, ms (default 5,000). */
  readonly adminWaitMs?: number;
}

/** The storage, counting every `conflict` its writes answer: aggregate versions guard settings and lifecycle only, never rosters. */
function countingConflicts(storage: StorageAdapter): { storage: StorageAdapter; conflicts: string[]; claims: () => number } {
  const conflicts: string[] = [];
  let claims = 0;
  const counted = new Set(["claim", "commitCampaign", "commitOrganization", "importConversations"]);
  const proxy = new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const call = value as (...args: unknown[]) => Promise<unknown>;
      if (!counted.has(String(property))) return (...args: unknown[]) => call.apply(target, args);
      return async (...args: unknown[]) => {
        if (property === "claim") claims++;
        const outcome = await call.apply(target, args);
        if ((outcome as { kind?: unknown } | null)?.kind === "conflict") conflicts.push(String(property));
        return outcome;
      };
    },
  });
  return { storage: proxy, conflicts, claims: () => claims };
}

/** I1, I2 and the events: stored holders equal the replayed event log, and every holder is a sender. */
async function consistent(engine: Engine, target: Target, campaignId: string): Promise<void> {
  const rows = await target.inspect(campaignId);
  strictEqual(new Set(rows.map((r) => r.id)).size, rows.length, "I2: a conversation is stored twice");
  const senders = new Set((await allSenders(engine, campaignId)).map((s) => s.userId));
  const replayed = replayHolders(await readAllEvents((after, limit) => engine.readEvents({ after, limit, campaignId })), campaignId);
  for (const r of rows) {
    if (r.holder !== null) ok(senders.has(r.holder), `I2: ${r.id} is held by ${r.holder}, who is not a sender`);
    strictEqual(replayed.get(r.id) ?? null, r.holder, `Events: the event log says ${r.id} is held by ${replayed.get(r.id) ?? null}, storage says ${r.holder}`);
  }
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/**
 * L3 at scale: `n` members join by invite at once. Every join succeeds with its own first batch, no
 * conversation twice, every joiner a sender once, and no write answers `conflict` (a join touches
 * its own sender row; it never rewrites or version-checks the roster).
 */
export async function checkJoinRush(target: Target, n: number): Promise<void> {
  const clock = { now: MONDAY_10AM };
  const plain = engineOn(target.storage, clock, "rush");
  const joiners = names("m", n);
  const { campaignId, token } = await campaignWorld(plain, { contacts: 2 * n + 3, batchSize: 2, members: joiners, senders: [] });
  const counted = countingConflicts(target.storage);
  const engine = engineOn(counted.storage, clock, "rush");
  const results = await Promise.allSettled(joiners.map((userId) => engine.joinByInvite({ token, userId })));
  const errors = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  deepStrictEqual(errors, [], `L3: ${errors.length} of ${n} joins failed`);
  const batches = results.map((r) => (r.status === "fulfilled" ? r.value : null));
  const refused = batches.filter((b) => b !== null && !b.ok);
  deepStrictEqual(refused, [], "L3: joins were refused");
  const handed = batches.flatMap((b) => (b?.ok === true ? b.conversations.map((c) => c.id) : []));
  strictEqual(new Set(handed).size, handed.length, "I1: a conversation was handed to two joiners");
  for (const [i, b] of batches.entries()) ok(b?.ok === true && b.firstBatch === "assigned" && b.conversations.length === 2, `L3: joiner ${joiners[i]} did not get a first batch of 2`);
  deepStrictEqual(counted.conflicts, [], `Sets are rows: ${counted.conflicts.length} writes answered "conflict" during a join rush (joins must never conflict with each other)`);
  const senders = (await allSenders(plain, campaignId)).map((s) => s.userId);
  deepStrictEqual([...senders].sort(), [...joiners].sort(), "L3: the roster is not exactly the joiners, once each");
  const rows = await target.inspect(campaignId);
  for (const j of joiners) strictEqual(rows.filter((r) => r.holder === j).length, 2, `L3: ${j} does not hold exactly the first batch`);
  await consistent(plain, target, campaignId);
}

/**
 * O1, C3 in bulk: `addMembers` of many users in one call (existing ones reported, unchanged; the
 * roster pages in the order added), then `addSenders` in several concurrent calls racing as many
 * invite joins — every user a sender exactly once, no write answering `conflict`.
 */
export async function checkBulkRosters(target: Target, n: number): Promise<void> {
  const clock = { now: MONDAY_10AM };
  const counted = countingConflicts(target.storage);
  const engine = engineOn(counted.storage, clock, "bulk-roster");
  const org = await engine.createOrganization({ name: "Big org", ownerId: "admin" });
  const users = names("u", 2 * n);
  const first = await engine.addMembers({ actorId: "admin", orgId: org.id, members: users.slice(0, n).map((userId) => ({ userId, role: "texter" as const })) });
  deepStrictEqual([...first.added].sort(), users.slice(0, n).sort(), "O1: addMembers did not add every new user");
  const second = await engine.addMembers({ actorId: "admin", orgId: org.id, members: users.map((userId) => ({ userId, role: "admin" as const })) });
  deepStrictEqual([...second.added].sort(), users.slice(n).sort(), "O1: addMembers added a user who was a member already");
  deepStrictEqual([...second.existing].sort(), users.slice(0, n).sort(), "O1: addMembers did not report the existing members");
  const listed: Member[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: { items: readonly Member[]; cursor: string | null } = await engine.listMembers({ actorId: "admin", orgId: org.id, cursor, limit: 7 });
    listed.push(...page.items);
    if (page.cursor === null) break;
    cursor = page.cursor;
  }
  deepStrictEqual(listed.map((m) => m.userId), ["admin", ...users], "O1: members do not page in the order they were added");
  strictEqual(listed.find((m) => m.userId === users[0])?.role, "texter", "O1: addMembers changed an existing member's role");

  const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Bulk" });
  await engine.importContacts({ actorId: "admin", campaignId, contacts: names("c", n + 3).map((contactId) => ({ contactId })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId, enabled: true, batchSize: 1 });
  await engine.launchCampaign({ actorId: "admin", campaignId });
  const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId });
  const byAdmin = users.slice(0, n);
  const chunks = [0, 1, 2, 3].map((k) => byAdmin.filter((_, i) => i % 4 === k));
  const [adds, joins] = await Promise.all([
    Promise.all(chunks.map((userIds) => engine.addSenders({ actorId: "admin", campaignId, userIds }))),
    Promise.all(users.slice(n).map((userId) => engine.joinByInvite({ token, userId }))),
  ]);
  deepStrictEqual(adds.flatMap((a) => a.added).sort(), [...byAdmin].sort(), "C3: addSenders did not add each user exactly once");
  ok(joins.every((j) => j.ok && !j.alreadySender), "L3: a join racing addSenders was refused or found itself a sender already");
  deepStrictEqual(counted.conflicts, [], `Sets are rows: ${counted.conflicts.length} writes answered "conflict" while senders were added and members joined`);
  const senders = (await allSenders(engine, campaignId)).map((s) => s.userId);
  deepStrictEqual([...senders].sort(), [...users].sort(), "C3: the roster is not every user exactly once");
  const joined = (await readAllEvents((after, limit) => engine.readEvents({ after, limit, campaignId, types: ["sender.joined"] }))).length;
  strictEqual(joined, 2 * n, "Events: not one sender.joined per new sender");
  await consistent(engine, target, campaignId);
}

/**
 * Fair locks: while texters request continuously, an admin's `pauseCampaign` completes within
 * `adminWaitMs`, and no claim commits after it — the event log has no `conversations.assigned` after
 * the pause, and every request that starts after it is refused `campaign_not_active` (C7).
 *
 * The requesters stop by the clock (not by a timer), so the check ends even when an adapter's calls
 * never yield to the event loop.
 */
export async function checkAdminFairness(target: Target, adminWaitMs: number): Promise<void> {
  const clock = { now: MONDAY_10AM };
  const plain = engineOn(target.storage, clock, "fair");
  const texters = names("t", 8);
  const { campaignId } = await campaignWorld(plain, { contacts: 400, batchSize: 1, gate: "none", members: texters, senders: texters });
  const counted = countingConflicts(target.storage);
  const engine = engineOn(counted.storage, clock, "fair");
  let deadline = Number.POSITIVE_INFINITY;
  let pausedAt: number | null = null;
  const afterPause: string[] = [];
  let flowing!: () => void;
  const flowed = new Promise<void>((resolve) => (flowing = resolve));
  const loops = texters.map(async (texterId) => {
    for (let since = 0; since < 2 && performance.now() < deadline; ) {
      const startedAfterPause = pausedAt !== null;
      const r = await engine.requestConversations({ campaignId, texterId }).catch((error: unknown) => {
        deadline = 0; // stop every requester, then fail
        throw error;
      });
      if (counted.claims() >= 3 * texters.length) flowing();
      if (!startedAfterPause) continue;
      afterPause.push(r.ok ? `${texterId} got ${r.conversations.length}` : r.reason);
      since++;
    }
  });
  await Promise.race([flowed, Promise.all(loops)]); // the requests flow; pause in the middle of them
  const started = performance.now();
  deadline = started + adminWaitMs;
  const pause = engine.pauseCampaign({ actorId: "admin", campaignId }).then(() => {
    pausedAt = performance.now();
  });
  await Promise.all(loops);
  await Promise.race([pause, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  const waited = pausedAt === null ? null : Math.round(pausedAt - started);
  ok(
    waited !== null && waited <= adminWaitMs,
    `Fair locks: pauseCampaign did not complete within ${adminWaitMs} ms while ${texters.length} texters kept requesting (${waited === null ? "it never completed" : `it completed after ${waited} ms, once they stopped`}): admin writes starve behind claims`,
  );
  deepStrictEqual(afterPause.filter((r) => r !== "campaign_not_active"), [], "C7: a request that started after the pause was not refused with campaign_not_active");
  const facts: SelfAssignEvent[] = await readAllEvents((after, limit) => plain.readEvents({ after, limit, campaignId }));
  const pauseFact = facts.find((e) => e.type === "campaign.status_changed" && e.data.to === "paused");
  ok(pauseFact !== undefined, "C1: the pause recorded no campaign.status_changed");
  const late = facts.filter((e) => e.seq > pauseFact.seq && e.type === "conversations.assigned");
  deepStrictEqual(late, [], "Fair locks: a claim committed after the pause (it was decided on the campaign before the pause)");
  ok(facts.some((e) => e.seq < pauseFact.seq && e.type === "conversations.assigned"), "The check is void: no claim committed before the pause");
  await consistent(plain, target, campaignId);
}

/**
 * Atomicity checks (I8): each write of the contract is made to fail part-way, and the persisted
 * state, the rosters, the aggregates and the fact log must show that nothing happened.
 *
 * How a write is made to fail: every write carries a {@link FactContext} that the adapter reads to
 * build the facts its results imply — after it has decided, usually after it has written. The check
 * hands the adapter a context whose k-th property read throws, for k = 0, 1, 2, … until the write
 * gets through; after every failure nothing may have changed. An adapter that writes in place and
 * builds facts afterwards, or records facts in a separate step, is caught.
 * @module
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { Engine } from "../engine/engine.js";
import { isAssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { Member } from "../types.js";
import { readAllEvents } from "./event-replay.js";
import type { Target } from "./fixture.js";
import { MONDAY_10AM, allSenders, engineOn } from "./setup.js";

/** The writes of the contract that record facts. */
type Write = "commitOrganization" | "commitCampaign" | "importConversations" | "claim" | "updateConversations" | "optOut";

/** The error the poisoned context throws. */
class InjectedFault extends Error {
  constructor() {
    super("injected failure while building the write's facts");
  }
}

/** A fact context whose (k+1)-th property read throws. */
function poisoned(context: object, k: number): object {
  let reads = 0;
  return new Proxy(context, {
    get(target, property, receiver) {
      if (reads++ >= k) throw new InjectedFault();
      return Reflect.get(target, property, receiver);
    },
  });
}

/** The storage with `method`'s requests carrying a poisoned context; every other call goes through unchanged. */
function failing(storage: StorageAdapter, method: Write, k: number): StorageAdapter {
  return new Proxy(storage, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      const call = value as (...args: unknown[]) => unknown;
      if (property !== method) return (...args: unknown[]) => call.apply(target, args);
      return (request: { context: object }) => call.call(target, { ...request, context: poisoned(request.context, k) });
    },
  });
}

function injected(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) if (e instanceof InjectedFault) return true;
  return false;
}

/** Everything the checks compare: stored rows, aggregates, rosters, and the length of the fact log. */
async function snapshot(engine: Engine, inspect: Target["inspect"], orgId: string, campaignId: string | null) {
  const rows = campaignId === null ? [] : [...(await inspect(campaignId))].sort((a, b) => (a.id < b.id ? -1 : 1));
  const members = await engine.listMembers({ actorId: "admin", orgId, limit: 1000 });
  return {
    rows,
    organization: await engine.getOrganization(orgId),
    members: members.items.map((m: Member) => [m.userId, m.role]),
    campaign: campaignId === null ? null : await engine.getCampaign(campaignId),
    senders: campaignId === null ? [] : (await allSenders(engine, campaignId)).map((s) => s.userId),
    facts: (await readAllEvents((after, limit) => engine.readEvents({ after, limit }))).length,
  };
}

/** Run every atomicity check against a storage and its independent reader. */
export async function checkAtomicity(target: Target): Promise<void> {
  const { storage, inspect } = target;
  const clock = { now: MONDAY_10AM };
  const engine = engineOn(storage, clock, "atomic");
  const org = await engine.createOrganization({ name: "Atomic", ownerId: "admin" });
  let campaignId: string | null = null;

  /** Run `op` with `method` failing at each context read in turn; nothing may change until it gets through. */
  async function failEachStep<T>(what: string, method: Write, op: (e: Engine) => Promise<T>): Promise<T> {
    for (let k = 0; k < 500; k++) {
      clock.now += 1;
      const before = await snapshot(engine, inspect, org.id, campaignId);
      try {
        return await op(engineOn(failing(storage, method, k), clock, "atomic"));
      } catch (error) {
        if (!injected(error)) throw error;
        if (!isAssignmentError(error, "STORAGE_ERROR")) throw new Error(`${what}: the injected failure did not surface as STORAGE_ERROR`, { cause: error });
      }
      deepStrictEqual(await snapshot(engine, inspect, org.id, campaignId), before, `I8: ${what} failing at read ${k + 1} of its fact context changed something`);
    }
    throw new Error(`${what}: still failing after 500 reads of its fact context`);
  }

  // commitOrganization: member rows, then the aggregate.
  const added = await failEachStep("addMembers (commitOrganization)", "commitOrganization", (e) =>
    e.addMembers({ actorId: "admin", orgId: org.id, members: ["t1", "t2", "t3"].map((userId) => ({ userId, role: "texter" as const })) }),
  );
  deepStrictEqual([...added.added].sort(), ["t1", "t2", "t3"], "O1: the members were not added once the failures stopped");
  await failEachStep("setDefaultBatchSize (commitOrganization)", "commitOrganization", (e) => e.setDefaultBatchSize({ actorId: "admin", orgId: org.id, batchSize: 3 }));

  // importConversations
  campaignId = (await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Atomic" })).id;
  const cmp = campaignId;
  const imported = await failEachStep("importContacts (importConversations)", "importConversations", (e) =>
    e.importContacts({ actorId: "admin", campaignId: cmp, contacts: Array.from({ length: 12 }, (_, i) => ({ contactId: `c${i}` })) }),
  );
  strictEqual(imported.created, 12, "C2: the import did not happen once the failures stopped");
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: cmp, enabled: true, allowSelfRelease: true });

  // commitCampaign: sender rows, a launch split (moves), unassign all, a removal with reassignment.
  await failEachStep("addSenders (commitCampaign)", "commitCampaign", (e) => e.addSenders({ actorId: "admin", campaignId: cmp, userIds: ["t1", "t2"] }));
  const launched = await failEachStep("launchCampaign (commitCampaign with a split)", "commitCampaign", (e) => e.launchCampaign({ actorId: "admin", campaignId: cmp }));
  strictEqual(launched.assigned, 12, "C4: after failed launches, the launch must still split everything");
  const unassigned = await failEachStep("unassignAll (commitCampaign)", "commitCampaign", (e) => e.unassignAll({ actorId: "admin", campaignId: cmp }));
  strictEqual(unassigned.unassigned, 12, "A2: after failed attempts, unassign all must still unassign everything");

  // claim: a keyed request (a failed claim must not store its key), then an invite join (a sender row and a first batch).
  const first = await failEachStep("requestConversations (claim)", "claim", (e) => e.requestConversations({ campaignId: cmp, texterId: "t1", idempotencyKey: "k" }));
  ok(first.ok && !first.replayed && first.conversations.length === 3, "S8: a failed claim stored its idempotency key (the claim that got through was a replay)");
  const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId: cmp });
  const joined = await failEachStep("joinByInvite (claim)", "claim", (e) => e.joinByInvite({ token, userId: "t3" }));
  ok(joined.ok && !joined.alreadySender && joined.conversations.length === 3, "L3: after failed joins, the join must still add the sender and give a first batch");

  // updateConversations: a status change, then an all-or-nothing release.
  const mine = first.ok ? first.conversations.map((c) => c.id) : [];
  await failEachStep("recordInitialSent (updateConversations)", "updateConversations", (e) => e.recordInitialSent({ conversationId: mine[0]! }));
  const released = await failEachStep("releaseConversations (updateConversations)", "updateConversations", (e) =>
    e.releaseConversations({ actorId: "t1", campaignId: cmp, conversationIds: mine }),
  );
  strictEqual(released.released, 3, "S9: the release did not happen once the failures stopped");

  // commitCampaign again: a sender removal that reassigns.
  await engine.requestConversations({ campaignId: cmp, texterId: "t2" });
  await failEachStep("removeSender (commitCampaign with moves)", "commitCampaign", (e) => e.removeSender({ actorId: "admin", campaignId: cmp, userId: "t2", reassignTo: ["t1"] }));

  // optOut
  await failEachStep("optOut", "optOut", (e) => e.optOut({ orgId: org.id, contactId: "c5" }));
  strictEqual((await inspect(cmp)).find((r) => r.contactId === "c5")?.status, "opted_out", "O3: the opt-out did not happen once the failures stopped");
}

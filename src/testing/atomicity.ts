/**
 * Atomicity checks (I8): each write of the contract is made to fail at its last step — the event
 * builder throws after the adapter has done its work — and the persisted state, the events and later
 * behaviour must show that nothing happened.
 * @module
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { createEngine, type Engine } from "../engine/engine.js";
import { isAssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";
import { readAllEvents } from "./event-replay.js";
import type { Inspector } from "./world.js";

let counter = 0;
const nonce = Math.random().toString(36).slice(2, 8);

type Method = "commitCampaign" | "claim" | "importConversations" | "release" | "recordStatus" | "optOut";

/** The storage with one method's event builder replaced by one that throws. */
function failingEvents(storage: StorageAdapter, method: Method): StorageAdapter {
  return new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== "function") return value;
      return (request: object) =>
        (value as (r: object) => Promise<unknown>).call(target, {
          ...request,
          events: () => {
            throw new Error("injected failure after the write");
          },
        });
    },
  });
}

async function expectStorageError(p: Promise<unknown>, what: string): Promise<void> {
  try {
    await p;
  } catch (error) {
    if (isAssignmentError(error, "STORAGE_ERROR")) return;
    throw error;
  }
  throw new Error(`${what}: the injected failure did not surface as STORAGE_ERROR`);
}

async function snapshot(engine: Engine, inspect: Inspector, campaignId: string) {
  const rows = await inspect(campaignId);
  const events = await readAllEvents((after, limit) => engine.readEvents({ after, limit }));
  return { rows: [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)), events: events.length, campaign: await engine.getCampaign(campaignId) };
}

/** Run every atomicity check against a storage and its independent reader. */
export async function checkAtomicity(storage: StorageAdapter, inspect: Inspector): Promise<void> {
  const engine = createEngine({ storage, generateId: (k) => `atomic-${nonce}-${k}-${++counter}` });
  const failing = (m: Method) => createEngine({ storage: failingEvents(storage, m) });
  const org = await engine.createOrganization({ name: "Atomic", ownerId: "admin" });
  for (const t of ["t1", "t2"]) await engine.addMember({ actorId: "admin", orgId: org.id, userId: t, role: "texter" });
  const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Atomic" });
  const campaignId = c.id;

  // importConversations
  let before = await snapshot(engine, inspect, campaignId);
  await expectStorageError(
    failing("importConversations").importContacts({ actorId: "admin", campaignId, contacts: [{ contactId: "a" }, { contactId: "b" }] }),
    "importConversations",
  );
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed import left conversations or events");
  await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: 12 }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.addSenders({ actorId: "admin", campaignId, userIds: ["t1", "t2"] });
  await engine.updateCampaignSettings({
    actorId: "admin",
    campaignId,
    enabled: true,
    batchSize: 3,
    allowSelfRelease: true,
    textingHoursStart: "00:00", textingHoursEnd: "24:00", // real clock: the hour must not matter (T1)
  });

  // commitCampaign (launch with a split)
  before = await snapshot(engine, inspect, campaignId);
  await expectStorageError(failing("commitCampaign").launchCampaign({ actorId: "admin", campaignId }), "commitCampaign");
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed launch changed state");
  const launched = await engine.launchCampaign({ actorId: "admin", campaignId });
  strictEqual(launched.assigned, 12, "after a failed launch, the launch must still split everything");
  await engine.unassignAll({ actorId: "admin", campaignId });

  // claim
  before = await snapshot(engine, inspect, campaignId);
  await expectStorageError(
    failing("claim").requestConversations({ campaignId, texterId: "t1", idempotencyKey: "k" }),
    "claim",
  );
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed claim assigned or recorded something");
  const retried = await engine.requestConversations({ campaignId, texterId: "t1", idempotencyKey: "k" });
  strictEqual(retried.ok && !retried.replayed && retried.conversations.length, 3, "S8: a failed claim must not store its key");
  const mine = retried.ok ? retried.conversations.map((x) => x.id) : [];

  // recordStatus
  before = await snapshot(engine, inspect, campaignId);
  await expectStorageError(failing("recordStatus").recordInitialSent({ conversationId: mine[0]! }), "recordStatus");
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed status change changed state");

  // release
  await expectStorageError(
    failing("release").releaseConversations({ actorId: "t1", campaignId, conversationIds: mine }),
    "release",
  );
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed release changed state");

  // optOut
  await expectStorageError(failing("optOut").optOut({ orgId: org.id, contactId: "c5" }), "optOut");
  deepStrictEqual(await snapshot(engine, inspect, campaignId), before, "I8: a failed opt-out changed state");
  await engine.optOut({ orgId: org.id, contactId: "c5" });
  strictEqual((await inspect(campaignId)).find((r) => r.contactId === "c5")?.status, "opted_out", "O3: the opt-out after a failure");
}

/**
 * What a host application needs without reaching into storage, on every adapter: finding a
 * conversation by contact, cursor-paged listings with permission checks, batch message writes with
 * late and duplicate events answered as results, and events filtered by organization, campaign and type.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentError, createEngine } from "../src/index.js";
import { manualClock, setup as baseSetup, uniqueId } from "./helpers.js";
import { type AdapterFixture, adapters } from "./support/adapters.js";

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof AssignmentError) return error.code;
    throw error;
  }
  return "none";
}

/** Every page of a cursor listing, in order. */
async function all<T>(page: (cursor: string | null) => Promise<{ items: readonly T[]; cursor: string | null }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const p = await page(cursor);
    out.push(...p.items);
    cursor = p.cursor;
  } while (cursor !== null);
  return out;
}

describe.each(adapters)("host API on $name storage", ({ open }) => {
  let fixture: AdapterFixture;
  beforeAll(async () => {
    fixture = await open();
  });
  afterAll(async () => {
    await fixture.close();
  });
  const setup = (options: Parameters<typeof baseSetup>[0] = {}) => baseSetup({ ...options, engine: { storage: fixture.storage, ...options.engine } });

  async function launched(contacts = 12) {
    const s = await setup({ texters: 3, contacts });
    await s.engine.updateCampaignSettings({ actorId: s.admin, campaignId: s.campaignId, enabled: true, batchSize: 4, gate: "none" });
    await s.engine.launchCampaign({ actorId: s.admin, campaignId: s.campaignId });
    await s.engine.addSenders({ actorId: s.admin, campaignId: s.campaignId, userIds: ["t1", "t2"] });
    return s;
  }

  it("C2: findConversation gives a contact's conversation; an import can return every id", async () => {
    const { engine, campaignId, admin } = await setup({ contacts: 3 });
    expect((await engine.findConversation({ campaignId, contactId: "c1" }))?.contactId).toBe("c1");
    expect(await engine.findConversation({ campaignId, contactId: "nobody" })).toBeNull();
    const r = await engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "c2" }, { contactId: "new" }], returnIds: true });
    expect(r.created).toBe(1);
    expect(r.ids?.map((x) => [x.contactId, x.created])).toEqual([
      ["c2", false],
      ["new", true],
    ]);
    expect((await engine.getConversation(r.ids![1]!.conversationId)).contactId).toBe("new");
    expect(r.ids![0]!.conversationId).toBe((await engine.findConversation({ campaignId, contactId: "c2" }))!.id);
  });

  it("A6: listings page by cursor; owners and admins see their organization, texters their own, nobody another organization", async () => {
    const { engine, orgId, campaignId, admin } = await launched(30);
    const other = await engine.createCampaign({ actorId: admin, orgId, title: "second" });
    await engine.addSenders({ actorId: admin, campaignId: other.id, userIds: ["t3"] });
    await engine.createOrganization({ name: "Else", ownerId: "outsider" });
    // Campaigns: admins all, texters theirs.
    expect((await all((cursor) => engine.listCampaigns({ actorId: admin, orgId, cursor, limit: 1 }))).map((c) => c.id)).toEqual([campaignId, other.id]);
    expect((await all((cursor) => engine.listCampaigns({ actorId: "t3", orgId, cursor, limit: 1 }))).map((c) => c.id)).toEqual([other.id]);
    await engine.updateCampaignSettings({ actorId: admin, campaignId: other.id, enabled: true });
    await engine.enableInviteLink({ actorId: admin, campaignId: other.id });
    const seenByTexter = (await engine.listCampaigns({ actorId: "t3", orgId })).items[0]!;
    expect(seenByTexter.invite).toEqual({ enabled: true, token: null, revokedTokens: [] }); // the link is the admins' to share
    expect(await code(engine.listCampaigns({ actorId: "outsider", orgId }))).toBe("NOT_A_MEMBER");
    // Members and senders, in the order they were added.
    expect((await all((cursor) => engine.listMembers({ actorId: admin, orgId, cursor, limit: 2 }))).map((m) => m.userId)).toEqual([admin, "t1", "t2", "t3"]);
    expect((await all((cursor) => engine.listSenders({ actorId: admin, campaignId, cursor, limit: 1 }))).map((m) => m.userId)).toEqual(["t1", "t2"]);
    expect(await code(engine.listMembers({ actorId: "t1", orgId }))).toBe("NOT_AUTHORIZED");
    expect(await code(engine.listSenders({ actorId: "outsider", campaignId }))).toBe("NOT_A_MEMBER");
    // An admin's conversation list: every conversation once, in hand-out order, filterable.
    const r = await engine.requestConversations({ campaignId, texterId: "t1" });
    expect(r.ok).toBe(true);
    const everything = await all((cursor) => engine.listConversations({ actorId: admin, campaignId, cursor, limit: 7 }));
    expect(everything.map((c) => c.contactId).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `c${i}`).sort());
    expect(new Set(everything.map((c) => c.id)).size).toBe(30);
    const mine = await all((cursor) => engine.listConversations({ actorId: admin, campaignId, assigneeId: "t1", cursor, limit: 3 }));
    expect(mine.map((c) => c.id)).toEqual(r.ok ? r.conversations.map((c) => c.id) : []);
    expect((await engine.listConversations({ actorId: admin, campaignId, assigneeId: null, limit: 100 })).items).toHaveLength(26);
    expect((await engine.listConversations({ actorId: admin, campaignId, contactId: "c5" })).items.map((c) => c.contactId)).toEqual(["c5"]);
    expect((await engine.listConversations({ actorId: admin, campaignId, status: "initial_sent" })).items).toEqual([]);
    expect(await code(engine.listConversations({ actorId: "t1", campaignId }))).toBe("NOT_AUTHORIZED");
    // A texter pages through their own view; another texter's is refused.
    expect((await all((cursor) => engine.listAssignments({ actorId: "t1", campaignId, texterId: "t1", cursor, limit: 1 }))).map((c) => c.id)).toEqual(mine.map((c) => c.id));
    expect(await code(engine.listAssignments({ actorId: "t2", campaignId, texterId: "t1" }))).toBe("NOT_AUTHORIZED");
  });

  it("A6, I8: a listing refuses a cursor it did not return — made up, from another listing, another query — with INVALID_INPUT, never an empty page", async () => {
    const { engine, orgId, campaignId, admin } = await launched(10);
    const other = await engine.createCampaign({ actorId: admin, orgId, title: "second" });
    const conversations = await engine.listConversations({ actorId: admin, campaignId, limit: 2 });
    const members = await engine.listMembers({ actorId: admin, orgId, limit: 1 });
    const senders = await engine.listSenders({ actorId: admin, campaignId, limit: 1 });
    const campaigns = await engine.listCampaigns({ actorId: admin, orgId, limit: 1 });
    const assignments = await engine.listAssignments({ actorId: admin, campaignId, texterId: "t1", limit: 1 });
    for (const c of [conversations.cursor, members.cursor, senders.cursor, campaigns.cursor]) expect(c).toMatch(/^[A-Za-z0-9_-]+\.[0-9a-f]{8}$/);
    expect(assignments.cursor).toBeNull(); // t1 holds nothing: one page
    // Each cursor continues its own listing...
    expect((await engine.listConversations({ actorId: admin, campaignId, cursor: conversations.cursor, limit: 2 })).items).toHaveLength(2);
    expect((await engine.listMembers({ actorId: admin, orgId, cursor: members.cursor, limit: 1 })).items).toHaveLength(1);
    // ...and nothing else: made-up strings, another listing's, another campaign's, other filters.
    const refused = [
      ...["garbage!!", "zzz", "0", "-1", "1.5", "999999", "MQ.00000000", `${conversations.cursor}x`].map((cursor) => () => engine.listConversations({ actorId: admin, campaignId, cursor })),
      () => engine.listMembers({ actorId: admin, orgId, cursor: "0" }),
      () => engine.listMembers({ actorId: admin, orgId, cursor: senders.cursor }),
      () => engine.listSenders({ actorId: admin, campaignId, cursor: members.cursor }),
      () => engine.listSenders({ actorId: admin, campaignId: other.id, cursor: senders.cursor }),
      () => engine.listCampaigns({ actorId: admin, orgId, cursor: conversations.cursor }),
      () => engine.listConversations({ actorId: admin, campaignId: other.id, cursor: conversations.cursor }),
      () => engine.listConversations({ actorId: admin, campaignId, assigneeId: null, cursor: conversations.cursor }),
      () => engine.listAssignments({ actorId: admin, campaignId, texterId: "t1", cursor: conversations.cursor }),
    ];
    // The same cursor spelled another way (base64 lets the last character's unused bits differ) is not one the listing returned.
    const [body, check] = conversations.cursor!.split(".") as [string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const respelled = [...alphabet].map((c) => body.slice(0, -1) + c).find((b) => b !== body && Buffer.from(b, "base64url").equals(Buffer.from(body, "base64url")));
    expect(respelled).toBeDefined();
    refused.push(() => engine.listConversations({ actorId: admin, campaignId, cursor: `${respelled}.${check}` }));
    for (const call of refused) expect(await code(call())).toBe("INVALID_INPUT");
  });

  it("I8: an error message stays short whatever the input — unknown fields, long names, thousands of ids — and names the first few", async () => {
    const { engine, orgId, campaignId, admin } = await launched(3);
    const messageOf = async (p: Promise<unknown>) => p.then(() => "", (e: unknown) => (e instanceof AssignmentError ? e.message : String(e)));
    const unknownKey = await messageOf(engine.importContacts({ actorId: admin, campaignId, contacts: [{ contactId: "x", ["k".repeat(100_000)]: 1 } as never] }));
    const manyKeys = await messageOf(engine.listMembers(Object.fromEntries([["actorId", admin], ["orgId", orgId], ...Array.from({ length: 20_000 }, (_, i) => [`extra${i}`, i])]) as never));
    const strangers = Array.from({ length: 10_000 }, (_, i) => `stranger-${i}`);
    const notMembers = await messageOf(engine.addSenders({ actorId: admin, campaignId, userIds: strangers }));
    for (const message of [unknownKey, manyKeys, notMembers]) {
      expect(message).not.toBe("");
      expect(message.length).toBeLessThan(600);
    }
    expect(notMembers).toContain('"stranger-0"');
    expect(notMembers).toContain("and 9995 more");
    expect(manyKeys).toContain("and 19995 more");
    expect((await engine.listMembers({ actorId: admin, orgId })).items.map((m) => m.userId)).not.toContain("stranger-0");
    // A5: reassignTo is bounded like reassign's `to`.
    expect(await code(engine.removeSender({ actorId: admin, campaignId, userId: "t1", reassignTo: Array.from({ length: 10_001 }, () => "t2") }))).toBe("INVALID_INPUT");
    expect((await engine.listSenders({ actorId: admin, campaignId })).items.map((m) => m.userId)).toContain("t1");
  });

  it("M1, M3: recordMessages writes many events in one call; late, duplicate and foreign events are results, not errors", async () => {
    const { engine, orgId, campaignId, clock } = await launched(12);
    const r = await engine.requestConversations({ campaignId, texterId: "t1" });
    const held = r.ok ? r.conversations.map((c) => c.id) : [];
    const sent = await engine.recordMessages({ campaignId, actorId: "t1", messages: held.map((conversationId) => ({ conversationId, event: "initial_sent" as const })) });
    expect(sent.map((o) => o.result)).toEqual(["recorded", "recorded", "recorded", "recorded"]);
    clock.advance(1000);
    const [a, b, c, d] = held as [string, string, string, string];
    const replies = await engine.recordMessages({
      campaignId,
      messages: [
        { conversationId: a, event: "contact_replied", text: "who is this?", autoOptOut: true },
        { conversationId: a, event: "contact_replied", text: "hello?" }, // a second reply: still needs reply
        { conversationId: b, event: "contact_replied", text: "STOP", autoOptOut: true },
        { conversationId: c, event: "initial_sent" }, // a duplicate webhook
        { conversationId: `${campaignId}:999`, event: "closed" },
      ],
    });
    expect(replies.map((o) => o.result)).toEqual(["recorded", "recorded", "opted_out", "ignored", "not_found"]);
    const late = await engine.recordMessages({ campaignId, messages: [{ conversationId: b, event: "contact_replied", text: "sorry" }] });
    expect(late).toMatchObject([{ result: "ignored", status: "opted_out" }]);
    // A texter acts only on what they hold; another's conversation is not_held, unchanged.
    const t2 = await engine.recordMessages({ campaignId, actorId: "t2", messages: [{ conversationId: d, event: "closed" }] });
    expect(t2).toEqual([{ result: "not_held", conversationId: d }]);
    expect((await engine.getConversation(d)).status).toBe("initial_sent");
    expect(await code(engine.recordMessages({ campaignId, actorId: "outsider", messages: [{ conversationId: d, event: "closed" }] }))).toBe("NOT_A_MEMBER");
    expect((await engine.getConversation(a)).status).toBe("needs_reply");
    expect((await engine.getOverview({ actorId: "admin", campaignId })).byStatus.opted_out).toBe(1);
    void orgId;
  });

  it("Events: filtered by organization, campaign and type", async () => {
    const one = await launched(5);
    const two = await launched(5);
    const byCampaign = await one.engine.readEvents({ campaignId: one.campaignId, limit: 1000 });
    expect(byCampaign.length).toBeGreaterThan(0);
    expect(byCampaign.every((e) => e.campaignId === one.campaignId)).toBe(true);
    const byOrg = await one.engine.readEvents({ orgId: two.orgId, types: ["sender.joined"], limit: 1000 });
    expect(byOrg.map((e) => e.type)).toEqual(["sender.joined", "sender.joined"]);
    expect(byOrg.every((e) => e.orgId === two.orgId)).toBe(true);
    expect(await code(one.engine.readEvents({ types: ["nope" as never] }))).toBe("INVALID_INPUT");
    // A page of a filtered read continues after its last position.
    const first = await one.engine.readEvents({ orgId: one.orgId, limit: 2 });
    const rest = await one.engine.readEvents({ orgId: one.orgId, after: first[1]!.seq, limit: 1000 });
    expect([...first, ...rest].map((e) => e.seq)).toEqual((await one.engine.readEvents({ orgId: one.orgId, limit: 1000 })).map((e) => e.seq));
  });

  it("Events: a batch's conversation ids read back exactly, in order, as often as they are read", async () => {
    const { engine, campaignId, admin } = await launched(30);
    await engine.updateCampaignSettings({ actorId: admin, campaignId, batchSize: 20 });
    const got = await engine.requestConversations({ campaignId, texterId: "t1" });
    if (!got.ok) throw new Error("expected a batch");
    const ids = got.conversations.map((c) => c.id);
    expect(ids).toHaveLength(20);
    await engine.releaseConversations({ actorId: admin, campaignId, conversationIds: ids.slice(0, 9) });
    for (let read = 0; read < 2; read++) {
      const events = await engine.readEvents({ campaignId, types: ["conversations.assigned", "conversations.unassigned"], limit: 1000 });
      expect(events.map((e) => [e.type, e.type === "conversations.assigned" || e.type === "conversations.unassigned" ? e.data.conversationIds : null])).toEqual([
        ["conversations.assigned", ids],
        ["conversations.unassigned", ids.slice(0, 9)],
      ]);
    }
  });

  it("Events: the head, named consumers with their own positions, pruning, and a push stream that ends with its signal", async () => {
    const s = await launched(6);
    const head = await s.engine.getEventHead();
    expect(head).toBe((await s.engine.readEvents({ limit: 100_000 })).at(-1)?.seq ?? 0);
    // Two consumers keep their own positions; positions only move forward.
    const firstTwo = await s.engine.readEvents({ consumer: "webhooks", orgId: s.orgId, limit: 2 });
    await s.engine.acknowledgeEvents({ consumer: "webhooks", upTo: firstTwo[1]!.seq });
    await s.engine.acknowledgeEvents({ consumer: "webhooks", upTo: firstTwo[0]!.seq });
    expect((await s.engine.readEvents({ consumer: "webhooks", orgId: s.orgId, limit: 1 }))[0]!.seq).toBeGreaterThan(firstTwo[1]!.seq);
    expect((await s.engine.readEvents({ consumer: "audit", orgId: s.orgId, limit: 1 }))[0]!.seq).toBe(firstTwo[0]!.seq);
    // A position beyond the head is refused (it would skip events not recorded yet), and changes nothing.
    expect(await code(s.engine.acknowledgeEvents({ consumer: "webhooks", upTo: head + 1000 }))).toBe("INVALID_INPUT");
    expect((await s.engine.readEvents({ consumer: "webhooks", orgId: s.orgId, limit: 1 }))[0]!.seq).toBeGreaterThan(firstTwo[1]!.seq);
    await s.engine.acknowledgeEvents({ consumer: "head", upTo: head }); // the head itself is fine
    // Pruning keeps what some consumer has not handled yet.
    await s.engine.acknowledgeEvents({ consumer: "audit", upTo: firstTwo[0]!.seq });
    await s.engine.pruneEvents({ upTo: head });
    expect((await s.engine.readEvents({ limit: 1 }))[0]!.seq).toBeGreaterThan(firstTwo[0]!.seq);
    // Once pruned, a position is still one given: acknowledging it (again, or by another consumer) is fine.
    await s.engine.acknowledgeEvents({ consumer: "head", upTo: head });
    await s.engine.acknowledgeEvents({ consumer: "late", upTo: firstTwo[0]!.seq });
    // Push: the stream yields what is recorded after it started, then ends when its signal aborts.
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const e of s.engine.watchEvents({ campaignId: s.campaignId, pollMs: 20, signal: controller.signal })) {
        seen.push(e.type);
        if (seen.length === 2) controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await s.engine.requestConversations({ campaignId: s.campaignId, texterId: "t1" });
    await s.engine.pauseCampaign({ actorId: s.admin, campaignId: s.campaignId });
    await watching;
    expect(seen).toEqual(["conversations.assigned", "campaign.status_changed"]);
  });

  it("Events: a watch wakes on a notification, not its poll, and ends at once when aborted from inside its loop", async () => {
    const s = await launched(6);
    const after = await s.engine.getEventHead();
    const controller = new AbortController();
    const seen: string[] = [];
    // pollMs is a minute: only the storage's notification can wake the watch in time, and only a
    // sleep that looks at the signal first can end it before the test's timeout.
    const watching = (async () => {
      for await (const e of s.engine.watchEvents({ after, campaignId: s.campaignId, pollMs: 60_000, signal: controller.signal })) {
        seen.push(e.type);
        controller.abort();
      }
    })();
    await s.engine.requestConversations({ campaignId: s.campaignId, texterId: "t1" });
    await watching;
    expect(seen).toEqual(["conversations.assigned"]);
  });

  it("A6, Events: a system actor acts on the host's own authority, and its events say so", async () => {
    const clock = manualClock();
    const engine = createEngine({ storage: fixture.storage, clock: clock.now, systemActors: ["signup-service"], generateId: (k) => uniqueId(k) });
    const org = await engine.createOrganization({ name: "Sys", ownerId: "founder" });
    // The host's sign-up flow adds members without posing as an owner.
    expect(await engine.addMember({ actorId: "signup-service", orgId: org.id, userId: "new-volunteer", role: "texter" })).toMatchObject({ role: "texter" });
    const campaign = await engine.createCampaign({ actorId: "signup-service", orgId: org.id, title: "Imported" });
    await engine.importContacts({ actorId: "signup-service", campaignId: campaign.id, contacts: [{ contactId: "a" }] });
    const events = await engine.readEvents({ orgId: org.id, limit: 100 });
    expect(events.map((e) => [e.type, e.actorId, e.actorType])).toEqual([
      ["organization.created", "founder", "user"],
      ["organization.member_added", "founder", "user"],
      ["organization.member_added", "signup-service", "system"],
      ["campaign.created", "signup-service", "system"],
      ["conversations.imported", "signup-service", "system"],
    ]);
    // It is nobody's texter, and an engine that was not told about it treats the id as a stranger.
    expect(await engine.requestConversations({ campaignId: campaign.id, texterId: "signup-service" })).toMatchObject({ ok: false });
    const plain = createEngine({ storage: fixture.storage, clock: clock.now });
    expect(await code(plain.addMember({ actorId: "signup-service", orgId: org.id, userId: "x", role: "texter" }))).toBe("NOT_A_MEMBER");
  });
});

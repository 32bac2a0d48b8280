/**
 * Per-method checks, part 2: the conversation pool and the fact log — `importConversations`,
 * `claim`, `updateConversations`, `optOut`, `listConversations`, `readFacts`. Each calls the adapter
 * directly with plain data and checks the outcome and what was persisted.
 * @module
 */
import { ok } from "node:assert/strict";
import type { ConversationPage, ConversationQuery } from "../../storage/pool.js";
import { conversationId } from "../../storage/rules.js";
import type { Conversation } from "../../types.js";
import type { MethodCheck } from "./aggregates.js";
import { T0, campaignOf, claimOf, committed, context, contacts, factsOf, freshId, idOf, same, seed, setStatus, update } from "./seed.js";

/** Every page of a listing; checks page sizes and that only the last page has no cursor. */
async function pages(list: (q: ConversationQuery) => Promise<ConversationPage>, query: Omit<ConversationQuery, "after">): Promise<Conversation[][]> {
  const all: Conversation[][] = [];
  for (let after: string | null = null; all.length < 10_000; ) {
    const page: ConversationPage = await list({ ...query, after });
    ok(page.rows.length <= query.limit, "listConversations: a page longer than its limit");
    all.push([...page.rows]);
    if (page.cursor === null) return all;
    ok(page.rows.length === query.limit, "listConversations: a page shorter than its limit has a next cursor");
    after = page.cursor;
  }
  throw new Error("listConversations: the cursor never ends");
}

const held = async (inspect: (id: string) => Promise<readonly { contactId: string; holder: string | null }[]>, campaignId: string) =>
  (await inspect(campaignId)).map((r) => [r.contactId, r.holder] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));

/** The checks of this part. */
export const poolChecks: readonly MethodCheck[] = [
  {
    name: "importConversations: one conversation per contact in import order, repeats skipped, opted-out contacts arrive opted out (C2, O3); conflict on a wrong version, nothing written",
    async run({ storage, inspect }) {
      const s = await seed(storage);
      const stale = await storage.importConversations({ campaignId: s.campaignId, expectedVersion: 2, contacts: [{ contactId: "x" }], returnIds: false, context: context(s.orgId, s.campaignId) });
      same(stale, { kind: "conflict" }, "importConversations: a wrong expectedVersion must answer conflict");
      same(await inspect(s.campaignId), [], "importConversations: a conflict imported something");
      await storage.optOut({ orgId: s.orgId, contactId: "gone", now: T0, context: context(s.orgId, null, null) });
      const first = await storage.importConversations({
        campaignId: s.campaignId,
        expectedVersion: 1,
        contacts: [{ contactId: "a", timeZone: "America/Chicago" }, { contactId: "__proto__" }, { contactId: "a" }, { contactId: "gone" }],
        returnIds: true,
        context: context(s.orgId, s.campaignId),
      });
      const id = (seq: number) => conversationId(s.campaignId, seq);
      same(first, { kind: "imported", created: 3, skipped: 1, ids: [
        { contactId: "a", conversationId: id(0), created: true },
        { contactId: "__proto__", conversationId: id(1), created: true },
        { contactId: "a", conversationId: id(0), created: false },
        { contactId: "gone", conversationId: id(2), created: true },
      ] }, "importConversations: the first import (ids are `<campaignId>:<seq>`, which the engine parses)");
      const second = await storage.importConversations({ campaignId: s.campaignId, expectedVersion: 1, contacts: [{ contactId: "b" }, { contactId: "__proto__" }], returnIds: false, context: context(s.orgId, s.campaignId) });
      same(second, { kind: "imported", created: 1, skipped: 1, ids: [] }, "importConversations: a second import skips what the campaign holds; no ids unless asked");
      const rows = (await storage.listConversations({ campaignId: s.campaignId, statuses: "all", limit: 10 })).rows;
      same(
        [...rows].sort((a, b) => a.seq - b.seq),
        [
          { id: id(0), campaignId: s.campaignId, contactId: "a", status: "not_started", assigneeId: null, assignedAt: null, replyAt: null, contactTimeZone: "America/Chicago", seq: 0 },
          { id: id(1), campaignId: s.campaignId, contactId: "__proto__", status: "not_started", assigneeId: null, assignedAt: null, replyAt: null, contactTimeZone: null, seq: 1 },
          { id: id(2), campaignId: s.campaignId, contactId: "gone", status: "opted_out", assigneeId: null, assignedAt: null, replyAt: null, contactTimeZone: null, seq: 2 },
          { id: id(3), campaignId: s.campaignId, contactId: "b", status: "not_started", assigneeId: null, assignedAt: null, replyAt: null, contactTimeZone: null, seq: 3 },
        ],
        "importConversations: the stored conversations",
      );
      same((await inspect(s.campaignId)).length, 4, "importConversations: the independent reader sees another number of conversations");
      same((await factsOf(s, ["conversations.imported"])).map((f) => f.data), [{ created: 3, skipped: 1 }, { created: 1, skipped: 1 }], "importConversations: conversations.imported facts (importedFacts)");
    },
  },
  {
    name: "claim: best first (S4), a used key replays (S8), a claim of nothing writes nothing",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], senders: ["t1", "t2"], contacts: ["a", "b", "c", "d", "e", "f"] });
      await setStatus(s, "b", "needs_reply", T0 + 20);
      await setStatus(s, "d", "needs_reply", T0 + 10);
      await setStatus(s, "e", "initial_sent");
      await setStatus(s, "f", "closed");
      const first = await storage.claim(claimOf(s, "t1", { idempotencyKey: "k1", now: T0 + 30 }));
      ok(first.kind === "claimed" && !first.joined, `claim: expected claimed, got ${JSON.stringify(first)}`);
      same(contacts(first.conversations), ["d", "b", "a"], "claim: replies first (oldest reply first), then not started by import order (S4)");
      ok(first.conversations.every((c) => c.assigneeId === "t1" && c.assignedAt === T0 + 30), "claim: claimed conversations must be held by the texter since now");
      const factCount = (await factsOf(s)).length;
      const replay = await storage.claim(claimOf(s, "t1", { idempotencyKey: "k1", now: T0 + 40 }));
      ok(replay.kind === "replayed", `claim: a used key must replay; got ${JSON.stringify(replay)}`);
      same(replay.conversations.map((c) => c.id), first.conversations.map((c) => c.id), "claim: a replay returns what the keyed claim returned");
      same((await inspect(s.campaignId)).filter((r) => r.holder === "t1").length, 3, "claim: a replay claimed more");
      same((await factsOf(s)).length, factCount, "claim: a replay recorded facts");
      const zero = await storage.claim(claimOf(s, "t1", { idempotencyKey: "k2", limit: 0 }));
      ok(zero.kind === "blocked" || (zero.kind === "claimed" && zero.conversations.length === 0), `claim: limit 0 with an unused key must claim nothing; got ${JSON.stringify(zero)}`);
      same((await storage.claim(claimOf(s, "t1", { idempotencyKey: "k1", limit: 0 }))).kind, "replayed", "claim: limit 0 with a used key replays (the engine replays keys this way)");
      const other = await storage.claim(claimOf(s, "t2", { idempotencyKey: "k1" }));
      ok(other.kind === "claimed", "claim: keys are per texter: another texter's claim with the same key is not a replay");
      same(contacts(other.conversations), ["c", "e"], "claim: then the rest, never a closed conversation (S4)");
      same((await factsOf(s)).length, factCount + 1, "claim: a claim of nothing recorded facts");
      same(
        (await factsOf(s, ["conversations.assigned"])).map((f) => [f.data, f.actorId, f.at]),
        [
          [{ texterId: "t1", conversationIds: first.conversations.map((c) => c.id), reason: "request" }, "t1", T0],
          [{ texterId: "t2", conversationIds: other.conversations.map((c) => c.id), reason: "request" }, "t2", T0],
        ],
        "claim: one conversations.assigned per claim, from its context (claimFacts)",
      );
      same(await held(inspect, s.campaignId), [["a", "t1"], ["b", "t1"], ["c", "t2"], ["d", "t1"], ["e", "t2"], ["f", null]], "claim: stored holders");
    },
  },
  {
    name: "claim: the gate, the cap and holding block (S5, S7, L3); a request needs a sender, a join a member",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], senders: ["t1"], contacts: ["a", "b", "c", "d", "e", "f", "g", "h"] });
      const got = await storage.claim(claimOf(s, "t1", { limit: 2 }));
      ok(got.kind === "claimed" && got.conversations.length === 2, "claim: a first claim of 2");
      same(await storage.claim(claimOf(s, "t1", { gate: { maxNotStarted: 0, maxNeedsReply: null } })), { kind: "blocked", reason: "batch_unfinished", joined: false }, "claim: holding not-started work over the gate (S5)");
      const capped = await storage.claim(claimOf(s, "t1", { maxHeld: 3 }));
      ok(capped.kind === "claimed" && capped.conversations.length === 1, "claim: the cap leaves room for one (S7)");
      same(await storage.claim(claimOf(s, "t1", { maxHeld: 3 })), { kind: "blocked", reason: "cap_reached", joined: false }, "claim: at the cap (S7)");
      await setStatus(s, got.conversations[0]!.contactId, "needs_reply");
      same(await storage.claim(claimOf(s, "t1", { gate: { maxNotStarted: null, maxNeedsReply: 0 } })), { kind: "blocked", reason: "batch_unfinished", joined: false }, "claim: holding an unanswered reply over the gate (S5)");
      same(await storage.claim(claimOf(s, "t2")), { kind: "refused", reason: "not_a_sender" }, "claim: a member who is not a sender");
      same(await storage.claim(claimOf(s, "toString")), { kind: "refused", reason: "not_a_sender" }, "claim: a stranger");
      same(await storage.claim(claimOf(s, "nobody", { join: "invite" })), { kind: "refused", reason: "not_a_member" }, "claim: a join by a non-member (L2)");
      same(await storage.claim(claimOf(s, "t1", { join: "invite" })), { kind: "blocked", reason: "holding", joined: false }, "claim: a join by a sender who holds conversations gets none (L3, I7)");
      same((await storage.readRoster({ roster: "senders", campaignId: s.campaignId, limit: 10 })).rows.map((r) => r.userId), ["t1"], "claim: a refused join added a sender");
      same((await inspect(s.campaignId)).filter((r) => r.holder !== null).length, 3, "claim: a blocked or refused claim changed holders");
    },
  },
  {
    name: "claim: a join adds the sender — kept even when blocked — and gives a first batch (L3); conflict on a wrong version writes nothing",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], contacts: ["a", "b", "c", "d", "e"] });
      same(await storage.claim(claimOf(s, "t1", { join: "invite", expectedVersion: 5 })), { kind: "conflict" }, "claim: a wrong expectedVersion must answer conflict");
      same((await storage.readRoster({ roster: "senders", campaignId: s.campaignId, limit: 10 })).rows, [], "claim: a conflict added a sender");
      const joined = await storage.claim(claimOf(s, "t1", { join: "invite" }));
      ok(joined.kind === "claimed" && joined.joined && joined.conversations.length === 3, `claim: a join must add the sender and claim; got ${JSON.stringify(joined)}`);
      const blocked = await storage.claim(claimOf(s, "t2", { join: "invite", maxHeld: 0 }));
      same(blocked, { kind: "blocked", reason: "cap_reached", joined: true }, "claim: a blocked join");
      const roster = (await storage.readRoster({ roster: "senders", campaignId: s.campaignId, limit: 10 })).rows;
      same(roster.map((r) => [r.userId, "via" in r ? r.via : null]), [["t1", "invite"], ["t2", "invite"]], "claim: a join's sender row is written whatever the claim's outcome");
      const again = await storage.claim(claimOf(s, "t2", { join: "invite" }));
      ok(again.kind === "claimed" && !again.joined && again.conversations.length === 2, "claim: joining as a sender holding nothing claims, and adds nothing");
      same((await factsOf(s, ["sender.joined", "conversations.assigned"])).map((f) => (f.type === "conversations.assigned" ? `${f.type} ${f.data.reason}` : f.type)), [
        "sender.joined",
        "conversations.assigned invite",
        "sender.joined",
        "conversations.assigned invite",
      ], "claim: a join's facts: sender.joined, then conversations.assigned with reason invite (claimFacts)");
      same((await inspect(s.campaignId)).filter((r) => r.holder === null).length, 0, "claim: stored holders after the joins");
    },
  },
  {
    name: "claim: takes only the hand-out ranks it is given (T3, C6)",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["a", "b", "c", "d"] });
      await setStatus(s, "b", "initial_sent");
      await setStatus(s, "c", "needs_reply");
      await setStatus(s, "d", "replied");
      const take = async (ranks: readonly (0 | 1 | 2)[]) => {
        const r = await storage.claim(claimOf(s, "t1", { ranks, limit: 5 }));
        ok(r.kind === "claimed", `claim: expected claimed, got ${JSON.stringify(r)}`);
        return contacts(r.conversations);
      };
      same(await take([]), [], "claim: no ranks, nothing claimed");
      same(await take([2]), ["b", "d"], "claim: rank 2 only (initial sent, replied)");
      same(await take([1]), ["a"], "claim: rank 1 only (not started)");
      same(await take([0, 1, 2]), ["c"], "claim: rank 0 (needs reply) is what is left");
    },
  },
  {
    name: "updateConversations: status changes only from the allowed statuses; replyAt set on entering needs_reply, kept while in it (M1, M2); a later change sees an earlier one",
    async run({ storage, inspect }) {
      const s = await seed(storage, { contacts: ["a", "b"] });
      const [a, b] = [idOf(s, "a"), idOf(s, "b")];
      const r = await update(s, [
        { conversationId: a, status: { from: ["not_started"], to: "initial_sent" } },
        { conversationId: b, status: { from: ["needs_reply"], to: "replied" } },
        { conversationId: freshId("none"), status: { from: ["not_started"], to: "closed" } },
        { conversationId: a, status: { from: ["initial_sent"], to: "needs_reply" } },
      ], { now: T0 + 2 });
      same(r.applied, true, "updateConversations: a non-atomic update applies what it can");
      same(r.results.map((x) => x.kind), ["changed", "invalid", "not_found", "changed"], "updateConversations: one result per change, in order");
      const last = r.results[3]!;
      ok(last.kind === "changed" && last.before.status === "initial_sent" && last.after.status === "needs_reply" && last.after.replyAt === T0 + 2, "updateConversations: the later change saw the earlier one; entering needs_reply sets replyAt");
      ok(r.results[1]!.kind === "invalid" && r.results[1]!.current.status === "not_started", "updateConversations: invalid reports the conversation as it is");
      const stay = await update(s, [{ conversationId: a, status: { from: ["needs_reply"], to: "needs_reply" } }], { now: T0 + 5 });
      ok(stay.results[0]!.kind === "changed" && stay.results[0]!.after.replyAt === T0 + 2, "updateConversations: staying in needs_reply keeps replyAt (M2)");
      const answered = await update(s, [{ conversationId: a, status: { from: ["needs_reply"], to: "replied" } }], { now: T0 + 6 });
      ok(answered.results[0]!.kind === "changed" && answered.results[0]!.after.replyAt === null, "updateConversations: leaving needs_reply clears replyAt");
      same((await inspect(s.campaignId)).map((x) => [x.contactId, x.status]).sort(), [["a", "replied"], ["b", "not_started"]], "updateConversations: stored statuses");
      same(
        (await factsOf(s, ["conversation.status_changed"])).map((f) => (f.type === "conversation.status_changed" ? `${f.data.from}>${f.data.to}` : "")),
        ["not_started>initial_sent", "initial_sent>needs_reply", "needs_reply>replied"],
        "updateConversations: one status_changed per status that changed, none for staying (statusFacts)",
      );
    },
  },
  {
    name: "updateConversations: atomic release is all or nothing; heldBy conditions (S9)",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], senders: ["t1", "t2"], contacts: ["a", "b", "c", "d"] });
      await storage.claim(claimOf(s, "t1", { limit: 2 }));
      await storage.claim(claimOf(s, "t2", { limit: 1 }));
      const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => idOf(s, x)) as [string, string, string, string];
      const before = await held(inspect, s.campaignId);
      const facts = (await factsOf(s)).length;
      const mixed = await update(s, [{ conversationId: a, heldBy: "t1", release: true }, { conversationId: c, heldBy: "t1", release: true }], { atomic: true, releaseReason: "self_release" });
      same([mixed.applied, mixed.results.map((x) => x.kind)], [false, ["changed", "not_held"]], "updateConversations: an atomic release with one conversation held by somebody else");
      const missing = await update(s, [{ conversationId: a, heldBy: "t1", release: true }, { conversationId: freshId("none"), heldBy: "t1", release: true }], { atomic: true });
      same([missing.applied, missing.results.map((x) => x.kind)], [false, ["changed", "not_found"]], "updateConversations: an atomic release with an unknown id");
      const free = await update(s, [{ conversationId: d, heldBy: null, release: true }], { atomic: true });
      same([free.applied, free.results.map((x) => x.kind)], [false, ["not_held"]], "updateConversations: heldBy null needs a holder");
      same(await held(inspect, s.campaignId), before, "updateConversations: a refused atomic update changed holders");
      same((await factsOf(s)).length, facts, "updateConversations: a refused atomic update recorded facts");
      const done = await update(s, [{ conversationId: a, heldBy: "t1", release: true }, { conversationId: b, heldBy: "t1", release: true }], { atomic: true, releaseReason: "self_release" });
      same(done.applied, true, "updateConversations: an atomic release that can apply");
      ok(done.results.every((x) => x.kind === "changed" && x.before.assigneeId === "t1" && x.after.assigneeId === null && x.after.assignedAt === null), "updateConversations: released conversations are unassigned");
      same(await held(inspect, s.campaignId), [["a", null], ["b", null], ["c", "t2"], ["d", null]], "updateConversations: stored holders after the release");
      same((await factsOf(s, ["conversations.unassigned"])).map((f) => f.data), [{ texterId: "t1", conversationIds: [a, b], reason: "self_release" }], "updateConversations: one conversations.unassigned per former holder (updateFacts)");
      const admin = await update(s, [{ conversationId: c, heldBy: null, release: true }], { atomic: true });
      same(admin.applied, true, "updateConversations: heldBy null releases whoever holds it");
    },
  },
  {
    name: "optOut: every conversation of the contact in the organization's campaigns; a repeat changes and records nothing; later imports arrive opted out (O3)",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["x", "y"] });
      const otherId = freshId("cmp");
      const other = committed(
        await storage.commitCampaign({ campaignId: otherId, expectedVersion: null, next: campaignOf(otherId, s.orgId), senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, otherId) }),
        "commitCampaign: a second campaign",
      );
      await storage.importConversations({ campaignId: otherId, expectedVersion: other.campaign.version, contacts: [{ contactId: "x" }], returnIds: false, context: context(s.orgId, otherId) });
      const elsewhere = await seed(storage, { contacts: ["x"] });
      await storage.claim(claimOf(s, "t1", { limit: 1 }));
      await setStatus(s, "x", "needs_reply", T0 + 1);
      const first = await storage.optOut({ orgId: s.orgId, contactId: "x", now: T0 + 2, context: context(s.orgId, null, null, T0 + 2) });
      same(first.alreadyOptedOut, false, "optOut: a first opt-out");
      same(first.changed.map((c) => [c.campaignId, c.status]).sort(), [[otherId, "not_started"], [s.campaignId, "needs_reply"]].sort(), "optOut: the changed conversations, as they were before");
      for (const id of [s.campaignId, otherId]) same((await inspect(id)).find((r) => r.contactId === "x")?.status, "opted_out", "optOut: a conversation of the contact is not opted out");
      same((await inspect(elsewhere.campaignId))[0]?.status, "not_started", "optOut: another organization's conversation changed");
      same((await storage.listConversations({ campaignId: s.campaignId, statuses: "all", contactIds: ["x"], limit: 1 })).rows[0]?.replyAt, null, "optOut: replyAt must be cleared");
      const factTypes = async () => (await storage.readFacts({ after: 0, limit: 1000, orgId: s.orgId })).map((f) => f.type).filter((t) => t === "conversation.status_changed" || t === "contact.opted_out");
      const recorded = await factTypes();
      same(recorded.filter((t) => t === "contact.opted_out").length, 1, "optOut: one contact.opted_out (optOutFacts)");
      const repeat = await storage.optOut({ orgId: s.orgId, contactId: "x", now: T0 + 3, context: context(s.orgId, null, null, T0 + 3) });
      same(repeat, { changed: [], alreadyOptedOut: true }, "optOut: a repeat");
      same(await factTypes(), recorded, "optOut: a repeat recorded facts");
      const lateId = freshId("cmp");
      const late = committed(await storage.commitCampaign({ campaignId: lateId, expectedVersion: null, next: campaignOf(lateId, s.orgId), senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, lateId) }), "commitCampaign: a later campaign");
      await storage.importConversations({ campaignId: lateId, expectedVersion: late.campaign.version, contacts: [{ contactId: "x" }], returnIds: false, context: context(s.orgId, lateId) });
      same((await inspect(lateId))[0]?.status, "opted_out", "optOut: a later import of the contact must arrive opted out");
    },
  },
  {
    name: "listConversations: pages by cursor in hand-out order; filters by holder, status, ids and contacts (S4, S6)",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], senders: ["t1", "t2"], contacts: ["a", "b", "c", "d", "e", "f", "g"] });
      await setStatus(s, "b", "needs_reply", T0 + 2);
      await setStatus(s, "e", "needs_reply", T0 + 1);
      await setStatus(s, "c", "initial_sent");
      await setStatus(s, "f", "closed");
      await storage.optOut({ orgId: s.orgId, contactId: "g", now: T0, context: context(s.orgId, null, null) });
      await storage.claim(claimOf(s, "t1", { ranks: [1], limit: 2 }));
      const list = (q: ConversationQuery) => storage.listConversations(q);
      const base = { campaignId: s.campaignId, statuses: "all" as const };
      same((await pages(list, { ...base, limit: 3 })).map(contacts), [["e", "b", "a"], ["d", "c", "f"], ["g"]], "listConversations: pages of 3 in hand-out order (needs reply oldest first, not started, the rest, closed, opted out)");
      same((await pages(list, { ...base, limit: 7 })).map(contacts), [["e", "b", "a", "d", "c", "f", "g"]], "listConversations: a page that holds the rest must have a null cursor");
      const only = async (q: Partial<ConversationQuery>) => contacts((await list({ ...base, limit: 50, ...q })).rows);
      same(await only({ holder: "t1" }), ["a", "d"], "listConversations: holder");
      same(await only({ holder: null }), ["e", "b", "c", "f", "g"], "listConversations: holder null (unassigned)");
      same(await only({ statuses: "open" }), ["e", "b", "a", "d", "c"], "listConversations: statuses open");
      same(await only({ statuses: "started" }), ["e", "b", "c"], "listConversations: statuses started");
      same(await only({ status: "needs_reply" }), ["e", "b"], "listConversations: one status");
      same(await only({ ids: [idOf(s, "c"), idOf(s, "a"), freshId("none")] }), ["a", "c"], "listConversations: ids");
      same(await only({ contactIds: ["g", "b"] }), ["b", "g"], "listConversations: contact ids");
      same(await only({ holder: null, statuses: "open", limit: 1 } as Partial<ConversationQuery>), ["e"], "listConversations: filters combine with the limit");
      same((await list({ campaignId: freshId("none"), statuses: "all", limit: 5 })).rows, [], "listConversations: an unknown campaign has none");
      // A second holder: pages without a holder merge both holders' rows and the unassigned ones.
      await storage.claim(claimOf(s, "t2", { ranks: [0], limit: 1 }));
      same(await only({ holder: "t2" }), ["e"], "listConversations: a second holder");
      same((await pages(list, { ...base, limit: 2 })).map(contacts), [["e", "b"], ["a", "d"], ["c", "f"], ["g"]], "listConversations: pages of 2 across two holders and the unassigned, in hand-out order");
    },
  },
  {
    name: "readFacts: positions increase; filters by campaign and type; after and limit page through",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["a", "b", "c"] });
      const other = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"], contacts: ["x"] });
      await storage.claim(claimOf(s, "t1", { limit: 1 }));
      await storage.claim(claimOf(other, "t1", { limit: 1 }));
      await setStatus(s, "b", "closed");
      const mine = await factsOf(s);
      ok(mine.every((f) => f.campaignId === s.campaignId), "readFacts: the campaign filter let another campaign's fact through");
      same(mine.map((f) => f.type), ["sender.joined", "conversations.imported", "conversations.assigned", "conversation.status_changed"], "readFacts: the campaign's facts, oldest first");
      ok(mine.every((f, i) => i === 0 || f.seq > mine[i - 1]!.seq), "readFacts: positions must increase");
      same((await factsOf(s, ["conversations.assigned", "conversation.status_changed"])).map((f) => f.seq), mine.slice(2).map((f) => f.seq), "readFacts: the type filter");
      const paged: number[] = [];
      for (let after = 0; ; ) {
        const page = await storage.readFacts({ after, limit: 1, campaignId: s.campaignId });
        ok(page.length <= 1, "readFacts: more than the limit");
        if (page.length === 0) break;
        paged.push(page[0]!.seq);
        after = page[0]!.seq;
      }
      same(paged, mine.map((f) => f.seq), "readFacts: after and limit page through the same facts");
      const orgFacts = await storage.readFacts({ after: 0, limit: 1000, orgId: other.orgId });
      ok(orgFacts.length > 0 && orgFacts.every((f) => f.orgId === other.orgId), "readFacts: the organization filter");
      same(await storage.readFacts({ after: mine[mine.length - 1]!.seq, limit: 10, campaignId: s.campaignId }), [], "readFacts: nothing after the last position");
    },
  },
];

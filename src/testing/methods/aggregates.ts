/**
 * Per-method checks, part 1: aggregates and rosters — `getOrganization`, `getCampaign`,
 * `findCampaignByToken`, `readRoster`, `commitOrganization`, `commitCampaign`. Each calls the adapter
 * directly with plain data and checks the outcome and what was persisted.
 * @module
 */
import { ok } from "node:assert/strict";
import type { RosterPage, RosterQuery } from "../../storage/aggregates.js";
import type { StorageAdapter } from "../../storage/contract.js";
import type { Member, Sender } from "../../types.js";
import type { Target } from "../fixture.js";
import { T0, campaignOf, committed, context, contacts, factsOf, freshId, organization, seed, same, setStatus } from "./seed.js";

/** One per-method check: a name that starts with the method it checks, and its body. */
export interface MethodCheck {
  /** `method: what it checks (rules)`. */
  readonly name: string;
  /** Run it on a fresh fixture. */
  run(target: Target): Promise<void>;
}

/** Every row of a roster, paging with `limit`; checks that the last page, and only it, has no cursor. */
async function readAll(storage: StorageAdapter, query: RosterQuery, limit: number): Promise<readonly (Member | Sender)[]> {
  const rows: (Member | Sender)[] = [];
  for (let after: string | null = null, n = 0; ; n++) {
    const page: RosterPage = await storage.readRoster({ ...query, after, limit });
    ok(page.rows.length <= limit, "readRoster: a page longer than its limit");
    rows.push(...page.rows);
    if (page.cursor === null) return rows;
    ok(page.rows.length === limit && n < 10_000, "readRoster: a page shorter than its limit has a next cursor");
    after = page.cursor;
  }
}

const userIds = (rows: readonly (Member | Sender)[]) => rows.map((r) => r.userId);

/** The checks of this part. */
export const aggregateChecks: readonly MethodCheck[] = [
  {
    name: "getOrganization, getCampaign: null for an unknown id; what was committed reads back exactly",
    async run({ storage }) {
      same(await storage.getOrganization(freshId("none")), null, "getOrganization: an unknown id must give null");
      same(await storage.getCampaign(freshId("none")), null, "getCampaign: an unknown id must give null");
      const s = await seed(storage);
      same(await storage.getOrganization(s.orgId), organization(s.orgId), "getOrganization: not what was committed");
      same(await storage.getCampaign(s.campaignId), campaignOf(s.campaignId, s.orgId), "getCampaign: not what was committed");
      same(s.campaign, campaignOf(s.campaignId, s.orgId), "commitCampaign: the committed outcome's campaign is not the stored one");
    },
  },
  {
    name: "commitOrganization: an insert, exists for a taken id; a new aggregate conflicts on a wrong version, nothing written",
    async run({ storage }) {
      const s = await seed(storage);
      const again = await storage.commitOrganization({ orgId: s.orgId, expectedVersion: null, next: organization(s.orgId), members: null, facts: [], context: context(s.orgId, null) });
      same(again.kind, "exists", "commitOrganization: inserting a taken id must answer exists");
      const next = { ...organization(s.orgId), defaultBatchSize: 50, version: 2 };
      const stale = await storage.commitOrganization({ orgId: s.orgId, expectedVersion: 7, next: { ...next, version: 8 }, members: { kind: "add", members: [{ userId: "late", role: "texter" }] }, facts: [], context: context(s.orgId, null) });
      same(stale.kind, "conflict", "commitOrganization: a wrong expectedVersion must answer conflict");
      same(await storage.getOrganization(s.orgId), organization(s.orgId), "commitOrganization: a conflict changed the organization");
      same((await storage.readRoster({ roster: "members", orgId: s.orgId, userIds: ["late"], limit: 10 })).rows, [], "commitOrganization: a conflict added a member");
      const done = await storage.commitOrganization({ orgId: s.orgId, expectedVersion: 1, next, members: null, facts: [], context: context(s.orgId, null) });
      same(done.kind, "committed", "commitOrganization: the right version must commit");
      same(await storage.getOrganization(s.orgId), next, "commitOrganization: the new aggregate was not stored");
      const missing = await storage.commitOrganization({ orgId: freshId("none"), expectedVersion: 1, next: null, members: { kind: "add", members: [{ userId: "x", role: "texter" }] }, facts: [], context: context(s.orgId, null) });
      same(missing.kind, "conflict", "commitOrganization: a member change of an unknown organization must answer conflict");
    },
  },
  {
    name: "commitOrganization: member rows are never version-checked; add reports added and existing; set_role and remove refuse not_a_member and last_owner (O1)",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]] });
      const org = { orgId: s.orgId, next: null, facts: [], context: context(s.orgId, null) };
      const add = await storage.commitOrganization({ ...org, expectedVersion: 99, members: { kind: "add", members: [{ userId: "t1", role: "admin" }, { userId: "__proto__", role: "texter" }, { userId: "t2", role: "admin" }] } });
      ok(add.kind === "committed", `commitOrganization: a member add (with any expectedVersion) must commit; got ${JSON.stringify(add)}`);
      same([[...add.added].sort(), add.existing], [["__proto__", "t2"], ["t1"]], "commitOrganization: add must report the new members as added and t1 as existing");
      const members = await readAll(storage, { roster: "members", orgId: s.orgId, limit: 2 }, 2);
      same(members.map((m) => [m.userId, (m as Member).role]), [["admin", "owner"], ["t1", "texter"], ["__proto__", "texter"], ["t2", "admin"]], "commitOrganization: members in the order added, existing ones unchanged");
      same(await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "set_role", userId: "nobody", role: "admin" } }), { kind: "refused", reason: "not_a_member", campaignIds: [] }, "commitOrganization: set_role of a non-member");
      same(await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "remove", userId: "nobody" } }), { kind: "refused", reason: "not_a_member", campaignIds: [] }, "commitOrganization: remove of a non-member");
      same(await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "set_role", userId: "admin", role: "texter" } }), { kind: "refused", reason: "last_owner", campaignIds: [] }, "commitOrganization: demoting the last owner");
      same(await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "remove", userId: "admin" } }), { kind: "refused", reason: "last_owner", campaignIds: [] }, "commitOrganization: removing the last owner");
      const role = await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "set_role", userId: "t2", role: "owner" } });
      ok(role.kind === "committed" && role.before?.role === "admin", "commitOrganization: set_role must commit and give the row before");
      const removed = await storage.commitOrganization({ ...org, expectedVersion: 1, members: { kind: "remove", userId: "admin" } });
      ok(removed.kind === "committed" && removed.before?.userId === "admin", "commitOrganization: removing an owner who is not the last must commit");
      same(userIds(await readAll(storage, { roster: "members", orgId: s.orgId, limit: 10 }, 10)), ["t1", "__proto__", "t2"], "commitOrganization: the removed member is still listed");
      const facts = (await storage.readFacts({ after: 0, limit: 10_000, orgId: s.orgId })).map((f) => f.type);
      same(facts.filter((t) => t.startsWith("organization.member")), ["organization.member_added", "organization.member_added", "organization.member_added", "organization.member_added", "organization.member_role_changed", "organization.member_removed"], "commitOrganization: member facts (memberFacts)");
    },
  },
  {
    name: "commitOrganization: remove refuses a sender on a campaign that is not archived, naming it (C3)",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]], senders: ["t1"] });
      same(
        await storage.commitOrganization({ orgId: s.orgId, expectedVersion: 1, next: null, members: { kind: "remove", userId: "t1" }, facts: [], context: context(s.orgId, null) }),
        { kind: "refused", reason: "a_sender", campaignIds: [s.campaignId] },
        "commitOrganization: removing a sender",
      );
      committed(
        await storage.commitCampaign({ campaignId: s.campaignId, expectedVersion: 1, next: { ...s.campaign, status: "archived", version: 2 }, senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, s.campaignId) }),
        "commitCampaign: archiving",
      );
      const removed = await storage.commitOrganization({ orgId: s.orgId, expectedVersion: 1, next: null, members: { kind: "remove", userId: "t1" }, facts: [], context: context(s.orgId, null) });
      same(removed.kind, "committed", "commitOrganization: a sender on archived campaigns only may be removed");
    },
  },
  {
    name: "commitCampaign: an insert, then conflict on a wrong version, nothing written",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"]], contacts: ["a", "b"] });
      const again = await storage.commitCampaign({ campaignId: s.campaignId, expectedVersion: null, next: s.campaign, senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, s.campaignId) });
      same(again.kind, "exists", "commitCampaign: inserting a taken id must answer exists");
      const stale = await storage.commitCampaign({
        campaignId: s.campaignId,
        expectedVersion: 2,
        next: { ...s.campaign, title: "Changed", version: 3 },
        senders: { kind: "add", userIds: ["t1"], via: "admin" },
        moves: [{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: "senders", reason: "launch" }],
        now: T0,
        facts: [],
        context: context(s.orgId, s.campaignId),
      });
      same(stale.kind, "conflict", "commitCampaign: a wrong expectedVersion must answer conflict");
      same(await storage.getCampaign(s.campaignId), s.campaign, "commitCampaign: a conflict changed the campaign");
      same((await storage.readRoster({ roster: "senders", campaignId: s.campaignId, limit: 10 })).rows, [], "commitCampaign: a conflict added a sender");
      same((await storage.listConversations({ campaignId: s.campaignId, holder: null, statuses: "all", limit: 10 })).rows.length, 2, "commitCampaign: a conflict moved conversations");
      const unknown = await storage.commitCampaign({ campaignId: freshId("none"), expectedVersion: 1, next: null, senders: null, moves: [], now: T0, facts: [], context: context(s.orgId, null) });
      same(unknown.kind, "conflict", "commitCampaign: an unknown campaign must answer conflict");
    },
  },
  {
    name: "commitCampaign: sender rows — members only (C3), an add reports only new senders, remove refuses a non-sender; rows page in the order added",
    async run({ storage }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["constructor", "texter"], ["t3", "texter"]] });
      const base = { campaignId: s.campaignId, expectedVersion: 1, next: null, moves: [], now: T0, facts: [], context: context(s.orgId, s.campaignId) };
      same(await storage.commitCampaign({ ...base, senders: { kind: "add", userIds: ["t1", "stranger"], via: "admin" } }), { kind: "refused", reason: "not_members", userIds: ["stranger"] }, "commitCampaign: adding a non-member");
      same((await storage.readRoster({ roster: "senders", campaignId: s.campaignId, limit: 10 })).rows, [], "commitCampaign: a refused add wrote a sender");
      const first = committed(await storage.commitCampaign({ ...base, senders: { kind: "add", userIds: ["t1", "constructor"], via: "admin" } }), "commitCampaign: adding members");
      same([...first.added].sort(), ["constructor", "t1"], "commitCampaign: added");
      const second = committed(await storage.commitCampaign({ ...base, senders: { kind: "add", userIds: ["constructor", "t3"], via: "invite" } }), "commitCampaign: adding again");
      same(second.added, ["t3"], "commitCampaign: an add must report only users who were not senders");
      const rows = (await readAll(storage, { roster: "senders", campaignId: s.campaignId, limit: 2 }, 2)) as Sender[];
      same(rows.map((r) => [r.userId, r.via]), [["t1", "admin"], ["constructor", "admin"], ["t3", "invite"]], "readRoster: senders in the order added, with how");
      same(await storage.commitCampaign({ ...base, senders: { kind: "remove", userId: "stranger" } }), { kind: "refused", reason: "not_senders", userIds: ["stranger"] }, "commitCampaign: removing a non-sender");
      committed(await storage.commitCampaign({ ...base, senders: { kind: "remove", userId: "constructor" } }), "commitCampaign: removing a sender");
      same(userIds(await readAll(storage, { roster: "senders", campaignId: s.campaignId, limit: 5 }, 5)), ["t1", "t3"], "commitCampaign: the removed sender is still listed");
      const joined = (await factsOf(s, ["sender.joined"])).map((f) => (f.type === "sender.joined" ? `${f.data.texterId} ${f.data.via}` : ""));
      same(joined.sort(), ["constructor admin", "t1 admin", "t3 invite"], "commitCampaign: one sender.joined per added sender (senderFacts)");
    },
  },
  {
    name: "commitCampaign: moves — a launch deals round-robin to the senders in roster order, best first (C4); targets must be senders (A5); to null unassigns",
    async run({ storage, inspect }) {
      const s = await seed(storage, { members: [["t1", "texter"], ["t2", "texter"]], senders: ["t2", "t1"], contacts: ["a", "b", "c", "d", "e"], campaign: { status: "draft", launchedAt: null } });
      await setStatus(s, "d", "needs_reply");
      await setStatus(s, "e", "closed");
      const launch = committed(
        await storage.commitCampaign({
          campaignId: s.campaignId,
          expectedVersion: 1,
          next: { ...s.campaign, status: "active", launchedAt: T0, version: 2 },
          senders: null,
          moves: [{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: "senders", reason: "launch" }],
          now: T0 + 5,
          facts: [],
          context: context(s.orgId, s.campaignId),
        }),
        "commitCampaign: a launch",
      );
      same(launch.moved[0]!.map((m) => [m.conversation.contactId, m.conversation.assigneeId, m.fromHolder, m.conversation.assignedAt]), [["d", "t2", null, T0 + 5], ["a", "t1", null, T0 + 5], ["b", "t2", null, T0 + 5], ["c", "t1", null, T0 + 5]], "commitCampaign: the launch split (hand-out order, round-robin in roster order)");
      same((await inspect(s.campaignId)).map((r) => [r.contactId, r.holder]).sort(), [["a", "t1"], ["b", "t2"], ["c", "t1"], ["d", "t2"], ["e", null]], "commitCampaign: stored holders after the launch");
      const base = { campaignId: s.campaignId, expectedVersion: 2, next: null, senders: null, now: T0 + 6, facts: [], context: context(s.orgId, s.campaignId) };
      same(await storage.commitCampaign({ ...base, moves: [{ from: { kind: "holders", holderIds: ["t1"] }, statuses: "open", limit: null, to: ["t1", "stranger"], reason: "reassign" }] }), { kind: "refused", reason: "not_senders", userIds: ["stranger"] }, "commitCampaign: a move to a non-sender");
      const moved = committed(await storage.commitCampaign({ ...base, moves: [{ from: { kind: "holders", holderIds: ["t2"] }, statuses: "open", limit: 1, to: ["t1"], reason: "reassign" }] }), "commitCampaign: a reassignment");
      same(moved.moved[0]!.map((m) => [m.conversation.contactId, m.fromHolder, m.conversation.assigneeId]), [["d", "t2", "t1"]], "commitCampaign: reassign takes the best of the source first, at most limit");
      const kept = committed(await storage.commitCampaign({ ...base, moves: [{ from: { kind: "holders", holderIds: ["t1"] }, statuses: "not_started", limit: null, to: ["t1"], reason: "reassign" }] }), "commitCampaign: a move to the current holder");
      ok(kept.moved[0]!.every((m) => m.conversation.assigneeId === "t1" && m.conversation.assignedAt === T0 + 5), "commitCampaign: a conversation moved to its holder keeps its holder and assignedAt");
      const cleared = committed(await storage.commitCampaign({ ...base, moves: [{ from: { kind: "all_holders" }, statuses: "all", limit: null, to: null, reason: "unassign_all" }] }), "commitCampaign: unassign all");
      same(cleared.moved[0]!.length, 4, "commitCampaign: unassign all moves every held conversation");
      ok((await inspect(s.campaignId)).every((r) => r.holder === null), "commitCampaign: unassign all left a holder");
      const facts = await factsOf(s, ["conversations.assigned", "conversations.reassigned", "conversations.unassigned"]);
      same(facts.map((f) => f.type), ["conversations.assigned", "conversations.assigned", "conversations.reassigned", "conversations.unassigned", "conversations.unassigned"], "commitCampaign: the facts of the moves (movedFacts)");
      const listed = await storage.listConversations({ campaignId: s.campaignId, statuses: "all", limit: 10 });
      same(contacts(listed.rows), ["d", "a", "b", "c", "e"], "listConversations after the moves");
      ok(listed.rows.every((c) => c.assignedAt === null), "commitCampaign: an unassigned conversation keeps an assignedAt");
    },
  },
  {
    name: "findCampaignByToken: the current and revoked tokens find their campaign (L2, L4); any other gives null",
    async run({ storage }) {
      const s = await seed(storage, { campaign: { invite: { enabled: true, token: freshId("tok"), revokedTokens: [freshId("old"), "__proto__"] } } });
      same(await storage.findCampaignByToken(s.campaign.invite.token!), s.campaignId, "findCampaignByToken: the current token");
      for (const t of s.campaign.invite.revokedTokens) same(await storage.findCampaignByToken(t), s.campaignId, "findCampaignByToken: a revoked token");
      same(await storage.findCampaignByToken(freshId("tok")), null, "findCampaignByToken: an unknown token");
      const newer = freshId("tok");
      committed(
        await storage.commitCampaign({
          campaignId: s.campaignId,
          expectedVersion: 1,
          next: { ...s.campaign, invite: { enabled: true, token: newer, revokedTokens: [...s.campaign.invite.revokedTokens, s.campaign.invite.token!] }, version: 2 },
          senders: null,
          moves: [],
          now: T0,
          facts: [],
          context: context(s.orgId, s.campaignId),
        }),
        "commitCampaign: a new token",
      );
      same(await storage.findCampaignByToken(newer), s.campaignId, "findCampaignByToken: a token set by a later commit");
      same(await storage.findCampaignByToken(s.campaign.invite.token!), s.campaignId, "findCampaignByToken: a token revoked by a later commit");
    },
  },
  {
    name: "readRoster: pages in order with a cursor, null after the last page; a look-up by user ids; ids are data",
    async run({ storage }) {
      const users = ["__proto__", "constructor", "toString", "o'brien", "x\"; drop table members;--"];
      const s = await seed(storage, { members: users.map((u) => [u, "texter"] as const), senders: users });
      same(userIds(await readAll(storage, { roster: "members", orgId: s.orgId, limit: 2 }, 2)), ["admin", ...users], "readRoster: members by pages of 2");
      const whole = await storage.readRoster({ roster: "members", orgId: s.orgId, limit: users.length + 1 });
      same([whole.rows.length, whole.cursor], [users.length + 1, null], "readRoster: a page that holds the rest must have a null cursor");
      same(userIds(await readAll(storage, { roster: "senders", campaignId: s.campaignId, limit: 3 }, 3)), users, "readRoster: senders by pages of 3");
      const found = await storage.readRoster({ roster: "senders", campaignId: s.campaignId, userIds: ["toString", "nobody", "__proto__"], limit: 10 });
      same([...userIds(found.rows)].sort(), ["__proto__", "toString"], "readRoster: a look-up gives the rows asked for that exist");
      same((await storage.readRoster({ roster: "members", orgId: freshId("none"), limit: 10 })).rows, [], "readRoster: an unknown organization has no members");
      ok((found.rows as Sender[]).every((r) => r.addedAt === T0 && r.via === "admin"), "readRoster: sender rows carry addedAt (the commit's now) and via");
    },
  },
];

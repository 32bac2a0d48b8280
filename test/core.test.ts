import { describe, expect, it } from "vitest";
import { addSenders, assertMayView, decideJoin, decideRelease, decideRequest, reassign, removeSender, unassignAll } from "../src/core/assignment.js";
import {
  assertImportable,
  bulkSendWait,
  changeStatus,
  createCampaign,
  disableInviteLink,
  enableInviteLink,
  finishBulkSend,
  launch,
  updateSettings,
} from "../src/core/campaign.js";
import type { Actor } from "../src/core/changes.js";
import type { Context } from "../src/core/decision.js";
import { addMembers, createOrganization, removeMember, setDefaultBatchSize, setMemberRole } from "../src/core/organization.js";
import { TRANSITIONS, decideReply, gateLimits, handOutRank, isAutoOptOut, isValidBatchSize } from "../src/core/policy.js";
import { AssignmentError } from "../src/errors.js";
import type { Campaign, Member, Organization, Role, Sender } from "../src/types.js";

/** Noon in New York (the default campaign time zone), inside the default texting hours. */
const NOON = Date.UTC(2026, 10, 3, 17, 0, 0);
const ctx = (actorId: string | null = "owner", now = NOON): Context => ({ now, actorId });
const ROLES: Record<string, Role> = { owner: "owner", admin: "admin", t1: "texter", t2: "texter", t3: "texter" };
const as = (id: string): Actor => ({ id, role: ROLES[id] ?? null });
const member = (userId: string): Member | null => (ROLES[userId] === undefined ? null : { userId, role: ROLES[userId]!, addedAt: NOON });
const sender = (userId: string): Sender => ({ userId, addedAt: NOON, via: "admin" });

function org(): Organization {
  return createOrganization({ id: "org", name: "Org", ownerId: "owner" }, ctx()).next;
}

function campaign(o = org()): Campaign {
  return createCampaign(o, as("owner"), { id: "cmp", title: "GOTV" }, ctx()).next;
}

/** Apply a plan's next aggregate (or keep the campaign). */
const next = (c: Campaign, plan: { next: Campaign | null }) => plan.next ?? c;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AssignmentError) return error.code;
    throw error;
  }
  return undefined;
}

describe("core: organization (O1, O2, A6)", () => {
  it("O1: the creator is the first owner; adding members is a row change, owners only by owners", () => {
    const plan = createOrganization({ id: "org", name: "Org", ownerId: "owner" }, ctx());
    expect(plan.members).toEqual({ kind: "add", members: [{ userId: "owner", role: "owner" }] });
    expect(plan.facts.map((f) => f.type)).toEqual(["organization.created"]);
    expect(addMembers(as("admin"), "org", [{ userId: "a", role: "texter" }, { userId: "a", role: "admin" }]).members).toEqual({
      kind: "add",
      members: [{ userId: "a", role: "admin" }],
    });
    expect(code(() => addMembers(as("admin"), "org", [{ userId: "b", role: "owner" }]))).toBe("NOT_AUTHORIZED");
    expect(code(() => addMembers(as("t1"), "org", [{ userId: "b", role: "texter" }]))).toBe("NOT_AUTHORIZED");
    expect(code(() => addMembers(as("nobody"), "org", [{ userId: "b", role: "texter" }]))).toBe("NOT_A_MEMBER");
  });

  it("O2: default batch size is 300 until set; valid values are 1..5000", () => {
    const o = org();
    expect(o.defaultBatchSize).toBe(300);
    expect(setDefaultBatchSize(o, as("owner"), 50, ctx()).next?.defaultBatchSize).toBe(50);
    expect(setDefaultBatchSize(o, as("owner"), 300, ctx())).toEqual({ next: null, members: null, facts: [] });
    for (const bad of [0, 5001, 2.5, Number.NaN, -1, "10", null]) expect(isValidBatchSize(bad)).toBe(false);
    for (const good of [1, 300, 5000]) expect(isValidBatchSize(good)).toBe(true);
  });

  it("A6: texters and strangers cannot manage; only owners change the owner role", () => {
    const o = org();
    expect(code(() => setDefaultBatchSize(o, as("t1"), 5, ctx("t1")))).toBe("NOT_AUTHORIZED");
    expect(code(() => setDefaultBatchSize(o, as("nobody"), 5, ctx("nobody")))).toBe("NOT_A_MEMBER");
    expect(code(() => setMemberRole(as("admin"), "org", "t1", member("t1"), "owner"))).toBe("NOT_AUTHORIZED");
    expect(code(() => setMemberRole(as("owner"), "org", "ghost", member("ghost"), "admin"))).toBe("NOT_A_MEMBER");
    expect(setMemberRole(as("owner"), "org", "t1", member("t1"), "texter").members).toBeNull();
    expect(code(() => removeMember(as("admin"), "org", "owner", member("owner")))).toBe("NOT_AUTHORIZED");
    expect(removeMember(as("owner"), "org", "t2", member("t2")).members).toEqual({ kind: "remove", userId: "t2" });
  });
});

describe("core: campaign lifecycle (C1, C2, C3, C4, C6, C7)", () => {
  it("C1: draft → active → paused → active → archived; nothing else", () => {
    let c = campaign();
    expect(code(() => changeStatus(c, as("owner"), "pause", ctx()))).toBe("INVALID_STATE");
    expect(code(() => changeStatus(c, as("owner"), "archive", ctx()))).toBe("INVALID_STATE");
    c = next(c, launch(c, as("owner"), false, ctx()));
    expect(c.status).toBe("active");
    expect(code(() => launch(c, as("owner"), false, ctx()))).toBe("INVALID_STATE");
    c = next(c, changeStatus(c, as("owner"), "pause", ctx()));
    expect(c.status).toBe("paused");
    c = next(c, changeStatus(c, as("owner"), "resume", ctx()));
    c = next(c, changeStatus(c, as("owner"), "archive", ctx()));
    expect(c.status).toBe("archived");
    expect(code(() => changeStatus(c, as("owner"), "resume", ctx()))).toBe("INVALID_STATE");
  });

  it("C2: contacts go into a draft or active campaign only", () => {
    const c = campaign();
    expect(code(() => assertImportable(c, as("owner")))).toBeUndefined();
    expect(code(() => assertImportable(c, as("t1")))).toBe("NOT_AUTHORIZED");
    const paused = next(next(c, launch(c, as("owner"), false, ctx())), changeStatus(next(c, launch(c, as("owner"), false, ctx())), as("owner"), "pause", ctx()));
    expect(code(() => assertImportable(paused, as("owner")))).toBe("INVALID_STATE");
  });

  it("C3: adding senders is a row change (duplicates once); storage checks membership", () => {
    expect(addSenders(campaign(), as("admin"), ["t1", "t2", "t1"]).senders).toEqual({ kind: "add", userIds: ["t1", "t2"], via: "admin" });
    expect(code(() => addSenders(campaign(), as("t1"), ["t1"]))).toBe("NOT_AUTHORIZED");
  });

  it("C4: launch asks for a round-robin split of every unassigned open conversation among the senders, in roster order", () => {
    const p = launch(campaign(), as("owner"), false, ctx());
    expect(p.moves).toEqual([{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: "senders", reason: "launch" }]);
    expect(p.facts.map((f) => f.type)).toEqual(["campaign.status_changed", "campaign.launched"]);
  });

  it("C4, C6: a bulk-send launch splits nothing; the bulk send finishes into active, or stays paused", () => {
    const p = launch(campaign(), as("owner"), true, ctx());
    expect(p.moves).toEqual([]);
    expect(p.next).toMatchObject({ status: "bulk_sending", bulkSend: { finishedAt: null } });
    const done = finishBulkSend(p.next!, NOON + 1);
    expect(done.state).toMatchObject({ status: "active", bulkSend: { finishedAt: NOON + 1 }, version: p.next!.version + 1 });
    expect(done.facts.map((f) => f.type)).toEqual(["campaign.bulk_send_finished", "campaign.status_changed"]);
    const paused = next(p.next!, changeStatus(p.next!, as("owner"), "pause", ctx()));
    expect(finishBulkSend(paused, NOON).state.status).toBe("paused");
    expect(next(paused, changeStatus(paused, as("owner"), "resume", ctx())).status).toBe("bulk_sending");
    expect(bulkSendWait(paused, NOON)).toEqual({ reason: "paused", until: null });
  });

  it("C3: removing a sender reassigns open conversations to named senders, unassigns the rest", () => {
    const p = removeSender(campaign(), as("owner"), { userId: "t1", reassignTo: ["t2"] }, ctx());
    expect(p.senders).toEqual({ kind: "remove", userId: "t1" });
    expect(p.moves.map((m) => [m.statuses, m.to, m.reason])).toEqual([
      ["open", ["t2"], "reassign"],
      ["all", null, "sender_removed"],
    ]);
    expect(code(() => removeSender(campaign(), as("owner"), { userId: "t1", reassignTo: ["t1"] }, ctx()))).toBe("INVALID_INPUT");
  });

  it("C7: an archived campaign refuses changes", () => {
    let c = next(campaign(), launch(campaign(), as("owner"), false, ctx()));
    c = next(c, changeStatus(c, as("owner"), "archive", ctx()));
    expect(code(() => addSenders(c, as("owner"), ["t1"]))).toBe("INVALID_STATE");
    expect(code(() => updateSettings(c, as("owner"), { enabled: true }, 300, ctx()))).toBe("INVALID_STATE");
    expect(code(() => unassignAll(c, as("owner")))).toBe("INVALID_STATE");
  });
});

describe("core: self assignment (S1, S2, S4, S5, S6, S9)", () => {
  it("S1: off by default; the first enable takes the organization default; later default changes do not touch it (O2)", () => {
    let c = campaign();
    expect(c.selfAssignment.enabled).toBe(false);
    c = next(c, updateSettings(c, as("owner"), { enabled: true }, 120, ctx()));
    expect(c.selfAssignment.batchSize).toBe(120);
    c = next(c, updateSettings(c, as("owner"), { enabled: false }, 7, ctx()));
    c = next(c, updateSettings(c, as("owner"), { enabled: true }, 7, ctx()));
    expect(c.selfAssignment.batchSize).toBe(120);
  });

  it("S2: pre-checks in order — not active, disabled, not a sender (or not a member), texting hours", () => {
    let c = campaign();
    const t1 = { role: "texter" as const, sender: sender("t1") };
    expect(decideRequest(c, t1, NOON)).toEqual({ kind: "refuse", reason: "campaign_not_active" });
    c = next(c, launch(c, as("owner"), false, ctx()));
    expect(decideRequest(c, t1, NOON)).toEqual({ kind: "refuse", reason: "self_assignment_disabled" });
    c = next(c, updateSettings(c, as("owner"), { enabled: true, batchSize: 25 }, 300, ctx()));
    expect(decideRequest(c, { role: "texter", sender: null }, NOON)).toEqual({ kind: "refuse", reason: "not_a_sender" });
    expect(decideRequest(c, { role: null, sender: sender("t1") }, NOON)).toEqual({ kind: "refuse", reason: "not_a_sender" });
    expect(decideRequest(c, t1, NOON - 10 * 3600_000)).toEqual({ kind: "refuse", reason: "outside_texting_hours" });
    expect(decideRequest(c, t1, NOON)).toEqual({
      kind: "claim",
      claim: {
        limit: 25,
        maxHeld: null,
        gate: { maxNotStarted: 0, maxNeedsReply: null },
        ranks: [0, 1, 2],
        contactZones: { now: NOON, textingHoursStart: "09:00", textingHoursEnd: "21:00" },
      },
    });
  });

  it("S4: rank — needs reply, not started, the rest; closed and opted out never", () => {
    expect(handOutRank("needs_reply")).toBe(0);
    expect(handOutRank("not_started")).toBe(1);
    expect(handOutRank("initial_sent")).toBe(2);
    expect(handOutRank("replied")).toBe(2);
    expect(handOutRank("closed")).toBeNull();
    expect(handOutRank("opted_out")).toBeNull();
  });

  it("S5: gate policies as limits on pending initials and pending replies", () => {
    expect(gateLimits("no-pending-initials")).toEqual({ maxNotStarted: 0, maxNeedsReply: null });
    expect(gateLimits("no-pending-work")).toEqual({ maxNotStarted: 0, maxNeedsReply: 0 });
    expect(gateLimits("none")).toEqual({ maxNotStarted: null, maxNeedsReply: null });
  });

  it("S6, S9: a texter sees only their own view and releases only their own, when allowed", () => {
    const c = next(campaign(), launch(campaign(), as("owner"), false, ctx()));
    expect(code(() => assertMayView(c, as("t1"), "t1"))).toBeUndefined();
    expect(code(() => assertMayView(c, as("t1"), "t2"))).toBe("NOT_AUTHORIZED");
    expect(code(() => assertMayView(c, as("admin"), "t2"))).toBeUndefined();
    expect(code(() => decideRelease(c, as("t1")))).toBe("SELF_RELEASE_NOT_ALLOWED");
    expect(decideRelease(c, as("admin"))).toEqual({ heldBy: null, reason: "admin_release" });
    const open = next(c, updateSettings(c, as("owner"), { allowSelfRelease: true }, 300, ctx()));
    expect(decideRelease(open, as("t1"))).toEqual({ heldBy: "t1", reason: "self_release" });
    expect(code(() => decideRelease(open, as("nobody")))).toBe("NOT_A_MEMBER");
  });
});

describe("core: invite link (L1–L4)", () => {
  it("L1, L4: enabling needs self assignment; disabling revokes the token for good", () => {
    let c = campaign();
    expect(code(() => enableInviteLink(c, as("owner"), "tok-1", ctx()))).toBe("INVALID_STATE");
    c = next(c, updateSettings(c, as("owner"), { enabled: true }, 300, ctx()));
    c = next(c, enableInviteLink(c, as("owner"), "tok-1", ctx()));
    expect(c.invite).toEqual({ enabled: true, token: "tok-1", revokedTokens: [] });
    c = next(c, disableInviteLink(c, as("owner"), ctx()));
    c = next(c, enableInviteLink(c, as("owner"), "tok-2", ctx()));
    expect(c.invite).toEqual({ enabled: true, token: "tok-2", revokedTokens: ["tok-1"] });
  });

  it("L2, L3: each refusal has its own reason; a member joins (a sender already is told so)", () => {
    let c = next(campaign(), updateSettings(campaign(), as("owner"), { enabled: true }, 300, ctx()));
    c = next(c, enableInviteLink(c, as("owner"), "tok-1", ctx()));
    const t1 = { role: "texter" as const, sender: null };
    expect(decideJoin(c, "tok-1", t1, NOON)).toEqual({ kind: "refuse", reason: "campaign_not_active" });
    c = next(c, launch(c, as("owner"), false, ctx()));
    expect(decideJoin(c, "tok-1", { role: null, sender: null }, NOON)).toEqual({ kind: "refuse", reason: "not_a_member" });
    expect(decideJoin(c, "nope", t1, NOON)).toEqual({ kind: "refuse", reason: "invalid_token" });
    const off = next(c, updateSettings(c, as("owner"), { enabled: false }, 300, ctx()));
    expect(decideJoin(off, "tok-1", t1, NOON)).toEqual({ kind: "refuse", reason: "self_assignment_disabled" });
    const revoked = next(c, disableInviteLink(c, as("owner"), ctx()));
    expect(decideJoin(revoked, "tok-1", t1, NOON)).toEqual({ kind: "refuse", reason: "token_revoked" });
    expect(decideJoin(c, "tok-1", t1, NOON)).toMatchObject({ kind: "join", alreadySender: false });
    expect(decideJoin(c, "tok-1", { role: "texter", sender: sender("t1") }, NOON)).toMatchObject({ kind: "join", alreadySender: true });
  });
});

describe("core: admin moves (A2–A5)", () => {
  it("A2: unassign all moves every held conversation, any status, to nobody", () => {
    const c = next(campaign(), launch(campaign(), as("owner"), false, ctx()));
    expect(unassignAll(c, as("owner")).moves).toEqual([{ from: { kind: "all_holders" }, statuses: "all", limit: null, to: null, reason: "unassign_all" }]);
  });

  it("A3, A4, A5: reassign maps the filter, the count and the targets (storage checks they are senders)", () => {
    const c = next(campaign(), launch(campaign(), as("owner"), false, ctx()));
    expect(reassign(c, as("owner"), { from: "unassigned", filter: "needs_reply", count: 5, to: ["t1", "t2", "t1"] }).moves).toEqual([
      { from: { kind: "unassigned" }, statuses: "needs_reply", limit: 5, to: ["t1", "t2"], reason: "reassign" },
    ]);
    expect(reassign(c, as("owner"), { from: { senderIds: ["t1"] }, filter: "any", count: null, to: ["t2"] }).moves[0]!.statuses).toBe("open");
    expect(code(() => reassign(c, as("t1"), { from: "unassigned", filter: "any", count: null, to: ["t1"] }))).toBe("NOT_AUTHORIZED");
    expect(code(() => reassign(campaign(), as("owner"), { from: "unassigned", filter: "any", count: null, to: ["t1"] }))).toBe("INVALID_STATE");
  });

  it("C6: during a bulk send no not-started work is reassigned", () => {
    const c = launch(campaign(), as("owner"), true, ctx()).next!;
    expect(reassign(c, as("owner"), { from: "unassigned", filter: "not_started", count: null, to: ["t1"] }).moves).toEqual([]);
    expect(reassign(c, as("owner"), { from: "unassigned", filter: "any", count: null, to: ["t1"] }).moves[0]!.statuses).toBe("started");
  });
});

describe("core: conversation lifecycle (M1, M3)", () => {
  it("M1: transitions", () => {
    expect(TRANSITIONS.initial_sent).toEqual({ from: ["not_started"], to: "initial_sent" });
    expect(TRANSITIONS.contact_replied.to).toBe("needs_reply");
    expect(TRANSITIONS.contact_replied.from).not.toContain("opted_out");
    expect(TRANSITIONS.texter_replied).toEqual({ from: ["needs_reply"], to: "replied" });
    expect(TRANSITIONS.closed.from).not.toContain("opted_out");
  });

  it("M3: automatic opt-out keywords, whole message only, in a first reply", () => {
    for (const t of ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel!", "end", "QUIT"]) expect(isAutoOptOut(t)).toBe(true);
    for (const t of ["please stop texting me", "stopping by later", "", "no"]) expect(isAutoOptOut(t)).toBe(false);
    expect(decideReply({ status: "initial_sent" }, "STOP", true)).toBe("opt_out");
    expect(decideReply({ status: "initial_sent" }, "STOP", false)).toBe("reply");
    expect(decideReply({ status: "replied" }, "STOP", true)).toBe("reply");
    expect(decideReply({ status: "initial_sent" }, undefined, true)).toBe("reply");
  });
});

describe("core: time rules (T1, T3)", () => {
  it("T1: local time follows the zone's daylight-saving changes", async () => {
    const { localMinutes, withinTextingHours } = await import("../src/core/time.js");
    const schedule = { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null };
    // 13:30 UTC is 08:30 EST on 7 March 2026 (outside) and 09:30 EDT on 9 March (inside).
    expect(localMinutes(Date.UTC(2026, 2, 7, 13, 30), "America/New_York")).toBe(8 * 60 + 30);
    expect(localMinutes(Date.UTC(2026, 2, 9, 13, 30), "America/New_York")).toBe(9 * 60 + 30);
    expect(withinTextingHours(Date.UTC(2026, 2, 7, 13, 30), schedule)).toBe(false);
    expect(withinTextingHours(Date.UTC(2026, 2, 9, 13, 30), schedule)).toBe(true);
    // Opening inclusive, closing exclusive; a contact 12 hours ahead sees another hour.
    expect(withinTextingHours(Date.UTC(2026, 2, 9, 13, 0), schedule)).toBe(true);
    expect(withinTextingHours(Date.UTC(2026, 2, 10, 1, 0), schedule)).toBe(false);
    expect(localMinutes(Date.UTC(2026, 2, 9, 13, 30), "Pacific/Auckland")).toBe(2 * 60 + 30);
  });

  it("T3: before the start no not-started conversations; after the end only replies", async () => {
    const { allowedRanks } = await import("../src/core/time.js");
    const base = { timeZone: "UTC", textingHoursStart: "00:00", textingHoursEnd: "24:00" };
    expect(allowedRanks(100, { ...base, startsAt: null, endsAt: null })).toEqual([0, 1, 2]);
    expect(allowedRanks(100, { ...base, startsAt: 200, endsAt: null })).toEqual([0, 2]);
    expect(allowedRanks(250, { ...base, startsAt: 200, endsAt: 300 })).toEqual([0, 1, 2]);
    expect(allowedRanks(300, { ...base, startsAt: 200, endsAt: 300 })).toEqual([0]);
  });
});

describe("core: stale release clock (T4)", () => {
  it("T4: the idle clock stops outside texting hours, across a night and a daylight-saving change", async () => {
    const { idleCutoff } = await import("../src/core/time.js");
    const ny = { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null };
    // 10:00 EST on 3 Nov 2026 (15:00 UTC); two hours of texting time go back to 20:00 the day before.
    expect(idleCutoff(Date.UTC(2026, 10, 3, 15, 0), 2 * 3600_000, ny)).toBe(Date.UTC(2026, 10, 3, 1, 0));
    // Inside one stretch of hours it is plain subtraction.
    expect(idleCutoff(Date.UTC(2026, 10, 3, 18, 0), 3600_000, ny)).toBe(Date.UTC(2026, 10, 3, 17, 0));
    // 09:30 EDT on 9 March 2026 (13:30 UTC), one hour back: 30 min that morning and 30 min before
    // 21:00 EST on 8 March... which is 20:30 EDT after the switch at 02:00 on the 8th: 00:30 UTC on the 9th.
    expect(idleCutoff(Date.UTC(2026, 2, 9, 13, 30), 3600_000, ny)).toBe(Date.UTC(2026, 2, 9, 0, 30));
  });
});

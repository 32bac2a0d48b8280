import { describe, expect, it } from "vitest";
import {
  addSenders,
  changeStatus,
  createCampaign,
  decideJoin,
  decideRequest,
  disableInviteLink,
  enableInviteLink,
  launch,
  reassign,
  removeSender,
  unassignAll,
  updateSettings,
} from "../src/core/campaign.js";
import type { Context } from "../src/core/decision.js";
import { addMember, createOrganization, setDefaultBatchSize, setMemberRole } from "../src/core/organization.js";
import { TRANSITIONS, gateLimits, handOutRank, isAutoOptOut, isValidBatchSize } from "../src/core/policy.js";
import { AssignmentError } from "../src/errors.js";
import type { Campaign, Organization } from "../src/types.js";

/** Noon in New York (the default campaign time zone), inside the default texting hours. */
const NOON = Date.UTC(2026, 10, 3, 17, 0, 0);
const ctx = (actorId: string | null = "owner", now = NOON): Context => ({ now, actorId });

function org(): Organization {
  let o = createOrganization({ id: "org", name: "Org", ownerId: "owner" }, ctx()).state;
  o = addMember(o, { userId: "admin", role: "admin" }, ctx()).state;
  for (const t of ["t1", "t2", "t3"]) o = addMember(o, { userId: t, role: "texter" }, ctx()).state;
  return o;
}

function campaign(o = org()): Campaign {
  return createCampaign(o, { id: "cmp", title: "GOTV" }, ctx()).state;
}

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
  it("O1: the creator is the only owner; others are members only once added", () => {
    const o = org();
    expect(o.members).toEqual({ owner: "owner", admin: "admin", t1: "texter", t2: "texter", t3: "texter" });
    expect(code(() => addMember(o, { userId: "t1", role: "admin" }, ctx()))).toBe("ALREADY_EXISTS");
  });

  it("O2: default batch size is 300 until set; valid values are 1..5000", () => {
    const o = org();
    expect(o.defaultBatchSize).toBe(300);
    expect(setDefaultBatchSize(o, { batchSize: 50 }, ctx()).state.defaultBatchSize).toBe(50);
    for (const bad of [0, 5001, 2.5, Number.NaN, -1, "10", null]) expect(isValidBatchSize(bad)).toBe(false);
    for (const good of [1, 300, 5000]) expect(isValidBatchSize(good)).toBe(true);
  });

  it("A6: texters and strangers cannot manage; only owners grant the owner role; one owner stays", () => {
    const o = org();
    expect(code(() => setDefaultBatchSize(o, { batchSize: 5 }, ctx("t1")))).toBe("NOT_AUTHORIZED");
    expect(code(() => setDefaultBatchSize(o, { batchSize: 5 }, ctx("nobody")))).toBe("NOT_A_MEMBER");
    expect(code(() => setMemberRole(o, { userId: "t1", role: "owner" }, ctx("admin")))).toBe("NOT_AUTHORIZED");
    expect(code(() => setMemberRole(o, { userId: "owner", role: "texter" }, ctx("owner")))).toBe("INVALID_STATE");
  });
});

describe("core: campaign lifecycle (C1, C3, C4, C7)", () => {
  it("C1: draft → active → paused → active → archived; nothing else", () => {
    const o = org();
    let c = campaign(o);
    expect(code(() => changeStatus(o, c, "pause", ctx()))).toBe("INVALID_STATE");
    expect(code(() => changeStatus(o, c, "archive", ctx()))).toBe("INVALID_STATE");
    c = launch(o, c, ctx()).state;
    expect(c.status).toBe("active");
    expect(code(() => launch(o, c, ctx()))).toBe("INVALID_STATE");
    c = changeStatus(o, c, "pause", ctx()).state;
    expect(c.status).toBe("paused");
    c = changeStatus(o, c, "resume", ctx()).state;
    c = changeStatus(o, c, "archive", ctx()).state;
    expect(c.status).toBe("archived");
    expect(code(() => changeStatus(o, c, "resume", ctx()))).toBe("INVALID_STATE");
  });

  it("C3: only members can be senders; adding twice adds once", () => {
    const o = org();
    const c = campaign(o);
    expect(code(() => addSenders(o, c, ["t1", "stranger"], ctx()))).toBe("NOT_A_MEMBER");
    const d = addSenders(o, addSenders(o, c, ["t1"], ctx()).state, ["t1", "t2"], ctx());
    expect(d.state.senders.map((s) => s.userId)).toEqual(["t1", "t2"]);
    expect(d.events.map((e) => e.type)).toEqual(["sender.joined"]);
  });

  it("C4: launch with senders asks for a round-robin split of every unassigned open conversation, in roster order", () => {
    const o = org();
    const c = addSenders(o, campaign(o), ["t2", "t1"], ctx()).state;
    const p = launch(o, c, ctx());
    expect(p.moves).toEqual([{ from: { kind: "unassigned" }, statuses: "open", limit: null, to: ["t2", "t1"] }]);
  });

  it("C4: launch with no senders keeps everything unassigned", () => {
    const o = org();
    expect(launch(o, campaign(o), ctx()).moves).toEqual([]);
  });

  it("C3: removing a sender reassigns open conversations to named senders, unassigns the rest", () => {
    const o = org();
    const c = addSenders(o, campaign(o), ["t1", "t2"], ctx()).state;
    const p = removeSender(o, c, { userId: "t1", reassignTo: ["t2"] }, ctx());
    expect(p.state.senders.map((s) => s.userId)).toEqual(["t2"]);
    expect(p.moves.map((m) => [m.statuses, m.to])).toEqual([
      ["open", ["t2"]],
      ["all", null],
    ]);
    expect(code(() => removeSender(o, c, { userId: "t3", reassignTo: [] }, ctx()))).toBe("NOT_A_SENDER");
    expect(code(() => removeSender(o, c, { userId: "t1", reassignTo: ["t3"] }, ctx()))).toBe("NOT_A_SENDER");
  });

  it("C7: an archived campaign refuses changes", () => {
    const o = org();
    let c = launch(o, campaign(o), ctx()).state;
    c = changeStatus(o, c, "archive", ctx()).state;
    expect(code(() => addSenders(o, c, ["t1"], ctx()))).toBe("INVALID_STATE");
    expect(code(() => updateSettings(o, c, { enabled: true }, ctx()))).toBe("INVALID_STATE");
    expect(code(() => unassignAll(o, c, ctx()))).toBe("INVALID_STATE");
  });
});

describe("core: self assignment (S1, S2, S4, S5)", () => {
  it("S1: off by default; the first enable takes the organization default; later default changes do not touch it (O2)", () => {
    let o = org();
    let c = campaign(o);
    expect(c.selfAssignment.enabled).toBe(false);
    o = setDefaultBatchSize(o, { batchSize: 120 }, ctx()).state;
    c = updateSettings(o, c, { enabled: true }, ctx()).state;
    expect(c.selfAssignment.batchSize).toBe(120);
    o = setDefaultBatchSize(o, { batchSize: 7 }, ctx()).state;
    c = updateSettings(o, c, { enabled: false }, ctx()).state;
    c = updateSettings(o, c, { enabled: true }, ctx()).state;
    expect(c.selfAssignment.batchSize).toBe(120);
  });

  it("S2: pre-checks in order — not active, disabled, not a sender", () => {
    const o = org();
    let c = addSenders(o, campaign(o), ["t1"], ctx()).state;
    expect(decideRequest(o, c, "t1", NOON)).toEqual({ kind: "refuse", reason: "campaign_not_active" });
    c = launch(o, c, ctx()).state;
    expect(decideRequest(o, c, "t1", NOON)).toEqual({ kind: "refuse", reason: "self_assignment_disabled" });
    c = updateSettings(o, c, { enabled: true, batchSize: 25 }, ctx()).state;
    expect(decideRequest(o, c, "t2", NOON)).toEqual({ kind: "refuse", reason: "not_a_sender" });
    const decided = decideRequest(o, c, "t1", NOON);
    expect(decided).toEqual({
      kind: "claim",
      claim: { limit: 25, maxHeld: null, gate: { maxNotStarted: 0, maxNeedsReply: null }, ranks: [0, 1, 2], contactZoneOpen: expect.any(Function) },
    });
    // T2: noon in New York is 01:00 in Singapore and 09:00 in Los Angeles.
    if (decided.kind === "claim") {
      expect(decided.claim.contactZoneOpen("Asia/Singapore")).toBe(false);
      expect(decided.claim.contactZoneOpen("America/Los_Angeles")).toBe(true);
    }
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
});

describe("core: invite link (L1–L4)", () => {
  it("L1, L4: enabling needs self assignment; disabling revokes the token for good", () => {
    const o = org();
    let c = campaign(o);
    expect(code(() => enableInviteLink(o, c, "tok-1", ctx()))).toBe("INVALID_STATE");
    c = updateSettings(o, c, { enabled: true }, ctx()).state;
    c = enableInviteLink(o, c, "tok-1", ctx()).state;
    expect(c.invite).toEqual({ enabled: true, token: "tok-1", revokedTokens: [] });
    c = disableInviteLink(o, c, ctx()).state;
    c = enableInviteLink(o, c, "tok-2", ctx()).state;
    expect(c.invite).toEqual({ enabled: true, token: "tok-2", revokedTokens: ["tok-1"] });
  });

  it("L2: each refusal has its own reason", () => {
    const o = org();
    let c = updateSettings(o, campaign(o), { enabled: true }, ctx()).state;
    c = enableInviteLink(o, c, "tok-1", ctx()).state;
    expect(decideJoin(o, c, "tok-1", "t1", ctx("t1"))).toEqual({ kind: "refuse", reason: "campaign_not_active" });
    c = launch(o, c, ctx()).state;
    expect(decideJoin(o, c, "tok-1", "stranger", ctx("stranger"))).toEqual({ kind: "refuse", reason: "not_a_member" });
    expect(decideJoin(o, c, "nope", "t1", ctx("t1"))).toEqual({ kind: "refuse", reason: "invalid_token" });
    const off = updateSettings(o, c, { enabled: false }, ctx()).state;
    expect(decideJoin(o, off, "tok-1", "t1", ctx("t1"))).toEqual({ kind: "refuse", reason: "self_assignment_disabled" });
    const revoked = disableInviteLink(o, c, ctx()).state;
    expect(decideJoin(o, revoked, "tok-1", "t1", ctx("t1"))).toEqual({ kind: "refuse", reason: "token_revoked" });
  });

  it("L3: joining adds the member once, as an invite sender", () => {
    const o = org();
    let c = updateSettings(o, campaign(o), { enabled: true }, ctx()).state;
    c = launch(o, enableInviteLink(o, c, "tok", ctx()).state, ctx()).state;
    const d = decideJoin(o, c, "tok", "t1", ctx("t1"));
    if (d.kind !== "join") throw new Error("expected a join");
    expect(d.state.senders).toEqual([{ userId: "t1", addedAt: NOON, via: "invite" }]);
    const again = decideJoin(o, d.state, "tok", "t1", ctx("t1"));
    expect(again.kind === "join" && again.alreadySender).toBe(true);
  });
});

describe("core: admin moves (A2–A5)", () => {
  it("A2: unassign all moves every held conversation, any status, to nobody", () => {
    const o = org();
    const c = launch(o, campaign(o), ctx()).state;
    expect(unassignAll(o, c, ctx()).moves).toEqual([{ from: { kind: "all_holders" }, statuses: "all", limit: null, to: null }]);
  });

  it("A3, A4, A5: reassign maps the filter, the count and the targets; targets must be senders", () => {
    const o = org();
    const c = launch(o, addSenders(o, campaign(o), ["t1", "t2"], ctx()).state, ctx()).state;
    expect(reassign(o, c, { from: "unassigned", filter: "needs_reply", count: 5, to: ["t1", "t2", "t1"] }, ctx()).moves).toEqual([
      { from: { kind: "unassigned" }, statuses: "needs_reply", limit: 5, to: ["t1", "t2"] },
    ]);
    expect(reassign(o, c, { from: { senderIds: ["t1"] }, filter: "any", count: null, to: ["t2"] }, ctx()).moves[0]!.statuses).toBe("open");
    expect(code(() => reassign(o, c, { from: "unassigned", filter: "any", count: null, to: ["t3"] }, ctx()))).toBe("NOT_A_SENDER");
    expect(code(() => reassign(o, c, { from: "unassigned", filter: "any", count: null, to: ["t1"] }, ctx("t1")))).toBe("NOT_AUTHORIZED");
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

  it("M3: automatic opt-out keywords, whole message only", () => {
    for (const t of ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe", "Cancel!", "end", "QUIT"]) expect(isAutoOptOut(t)).toBe(true);
    for (const t of ["please stop texting me", "stopping by later", "", "no"]) expect(isAutoOptOut(t)).toBe(false);
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

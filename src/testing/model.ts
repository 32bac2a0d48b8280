/**
 * The reference model: a deliberately simple, obviously-correct statement of the rules — plain
 * arrays and maps, O(pool) everything — that predicts what the engine must answer. Property tests
 * run random operation sequences against both and compare after every step. It keeps its own
 * members and senders (in storage they are rows, not part of the aggregates).
 *
 * Conversations are keyed by contact id (unique per campaign, C2) because conversation ids belong
 * to the storage adapter.
 * @module
 */
import type { GatePolicy, Role, StatusFilter } from "../types.js";
import type { ErrorCode } from "../errors.js";
import type { ReassignResult, ReleaseResult, UnassignResult } from "../engine/results.js";
import { type MessagingEvent, TRANSITIONS } from "../core/policy.js";
import {
  type AddMembersPrediction,
  type AddSendersPrediction,
  type Expected,
  type ImportCounts,
  type JoinPrediction,
  type LaunchPrediction,
  type MemberPrediction,
  type ModelCampaign,
  type ModelConversation,
  type ModelOverview,
  type RequestPrediction,
  error,
  handOutOrder,
  isOpen,
  matchesFilter,
  ok,
  refused,
} from "./model-types.js";

/** The reference model of one organization and its campaigns. */
export class ReferenceModel {
  /** Members and roles. */
  readonly members = new Map<string, Role>();
  /** Organization default batch size (O2). */
  defaultBatchSize = 300;
  /** Campaigns by id. */
  readonly campaigns = new Map<string, ModelCampaign>();
  /** Opted-out contacts (O3). */
  readonly optedOut = new Set<string>();

  /** A model with the given owner and members (pairs or a record; pairs keep ids like `__proto__` intact). */
  constructor(ownerId: string, members: Readonly<Record<string, Role>> | readonly (readonly [string, Role])[] = []) {
    this.members.set(ownerId, "owner");
    for (const [u, r] of Array.isArray(members) ? members : Object.entries(members)) this.members.set(u, r);
  }

  /** Add a draft campaign. */
  addCampaign(id: string): ModelCampaign {
    const c: ModelCampaign = {
      id,
      status: "draft",
      enabled: false,
      batchSize: null,
      gate: "no-pending-initials",
      cap: null,
      allowSelfRelease: false,
      senders: [],
      token: null,
      revoked: [],
      conversations: [],
      idempotency: new Map(),
    };
    this.campaigns.set(id, c);
    return c;
  }

  private campaign(id: string): ModelCampaign {
    const c = this.campaigns.get(id);
    if (c === undefined) throw new Error(`model: unknown campaign ${id}`);
    return c;
  }

  private manages(actor: string): ErrorCode | null {
    const role = this.members.get(actor);
    if (role === undefined) return "NOT_A_MEMBER";
    return role === "owner" || role === "admin" ? null : "NOT_AUTHORIZED";
  }

  /** The conversation of a contact. */
  find(campaignId: string, contactId: string): ModelConversation | undefined {
    return this.campaign(campaignId).conversations.find((c) => c.contactId === contactId);
  }

  /** Conversations held by a texter. */
  heldBy(campaignId: string, texterId: string): ModelConversation[] {
    return this.campaign(campaignId).conversations.filter((c) => c.holder === texterId);
  }

  // ------------------------------------------------------------------ operations

  /** O1 add members in bulk: owners and admins add; only owners add owners; a user named twice keeps the last role. */
  addMembers(actor: string, members: readonly MemberPrediction[]): Expected<AddMembersPrediction> {
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (members.some((m) => m.role === "owner") && this.members.get(actor) !== "owner") return error("NOT_AUTHORIZED");
    const unique = new Map(members.map((m) => [m.userId, m.role]));
    const added: string[] = [];
    const existing: string[] = [];
    for (const [userId, role] of unique) {
      if (this.members.has(userId)) existing.push(userId);
      else {
        this.members.set(userId, role);
        added.push(userId);
      }
    }
    return ok({ added: added.sort(), existing: existing.sort() });
  }

  /** O1 add one member: like {@link ReferenceModel.addMembers}, `ALREADY_EXISTS` for a member. */
  addMember(actor: string, userId: string, role: Role): Expected<MemberPrediction> {
    const r = this.addMembers(actor, [{ userId, role }]);
    if (r.kind !== "ok") return r;
    return r.value.added.length === 0 ? error("ALREADY_EXISTS") : ok({ userId, role });
  }

  /** C2 import. */
  importContacts(actor: string, campaignId: string, contactIds: readonly string[]): Expected<ImportCounts> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status !== "draft" && c.status !== "active") return error("INVALID_STATE");
    let created = 0;
    for (const contactId of contactIds) {
      if (c.conversations.some((x) => x.contactId === contactId)) continue;
      c.conversations.push({
        contactId,
        seq: c.conversations.length,
        status: this.optedOut.has(contactId) ? "opted_out" : "not_started",
        holder: null,
        replyAt: null,
      });
      created++;
    }
    return ok({ created, skipped: contactIds.length - created });
  }

  /** S1 settings. */
  updateSettings(
    actor: string,
    campaignId: string,
    patch: { enabled?: boolean; batchSize?: number; gate?: GatePolicy; cap?: number | null; allowSelfRelease?: boolean },
  ): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived") return error("INVALID_STATE");
    if (patch.enabled !== undefined) c.enabled = patch.enabled;
    if (patch.batchSize !== undefined) c.batchSize = patch.batchSize;
    if (c.enabled && c.batchSize === null) c.batchSize = this.defaultBatchSize;
    if (patch.gate !== undefined) c.gate = patch.gate;
    if (patch.cap !== undefined) c.cap = patch.cap;
    if (patch.allowSelfRelease !== undefined) c.allowSelfRelease = patch.allowSelfRelease;
    return ok(null);
  }

  /** C3 add senders: members only; those who are senders already are left as they are. */
  addSenders(actor: string, campaignId: string, userIds: readonly string[]): Expected<AddSendersPrediction> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived") return error("INVALID_STATE");
    if (userIds.some((u) => !this.members.has(u))) return error("NOT_A_MEMBER");
    const added: string[] = [];
    for (const u of userIds) {
      if (c.senders.includes(u)) continue;
      c.senders.push(u);
      added.push(u);
    }
    return ok({ added: added.sort() });
  }

  private distribute(list: readonly ModelConversation[], to: readonly string[] | null): number {
    let moved = 0;
    list.forEach((conv, i) => {
      const target = to === null ? null : to[i % to.length]!;
      if (conv.holder !== target) moved++;
      conv.holder = target;
    });
    return moved;
  }

  /** C3 remove sender. */
  removeSender(actor: string, campaignId: string, userId: string, reassignTo: readonly string[]): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived") return error("INVALID_STATE");
    if (reassignTo.includes(userId)) return error("INVALID_INPUT");
    if (!c.senders.includes(userId)) return error("NOT_A_SENDER");
    if (reassignTo.some((u) => !c.senders.includes(u))) return error("NOT_A_SENDER");
    c.senders = c.senders.filter((s) => s !== userId);
    const targets = [...new Set(reassignTo)];
    if (targets.length > 0) this.distribute(handOutOrder(this.heldBy(campaignId, userId).filter(isOpen)), targets);
    this.distribute(this.heldBy(campaignId, userId), null);
    return ok(null);
  }

  /** C1, C4 launch. */
  launch(actor: string, campaignId: string): Expected<LaunchPrediction> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status !== "draft") return error("INVALID_STATE");
    c.status = "active";
    if (c.senders.length === 0) return ok({ assigned: 0 });
    const pool = handOutOrder(c.conversations.filter((x) => x.holder === null && isOpen(x)));
    this.distribute(pool, c.senders);
    return ok({ assigned: pool.length });
  }

  /** C1 pause / resume / archive. */
  changeStatus(actor: string, campaignId: string, change: "pause" | "resume" | "archive"): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    const rules = { pause: [["active", "bulk_sending"], "paused"], resume: [["paused"], "active"], archive: [["active", "paused", "bulk_sending"], "archived"] } as const;
    const [from, to] = rules[change];
    if (!(from as readonly string[]).includes(c.status)) return error("INVALID_STATE");
    c.status = to;
    return ok(null);
  }

  /** L1 enable (the token is chosen by the engine; pass it in). */
  enableInvite(actor: string, campaignId: string, token: () => string): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived" || !c.enabled) return error("INVALID_STATE");
    if (c.token === null) c.token = token();
    return ok(null);
  }

  /** L4 disable. */
  disableInvite(actor: string, campaignId: string): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.token !== null) {
      c.revoked.push(c.token);
      c.token = null;
    }
    return ok(null);
  }

  private claim(c: ModelCampaign, texterId: string, onlyIfHoldingNone: boolean): Expected<string[]> {
    const held = this.heldBy(c.id, texterId);
    if (onlyIfHoldingNone && held.length > 0) return refused("holding");
    const pendingInitials = held.filter((x) => x.status === "not_started").length;
    const pendingReplies = held.filter((x) => x.status === "needs_reply").length;
    if (c.gate !== "none" && pendingInitials > 0) return refused("batch_unfinished");
    if (c.gate === "no-pending-work" && pendingReplies > 0) return refused("batch_unfinished");
    const batch = c.batchSize ?? 1;
    const room = c.cap === null ? batch : Math.min(batch, c.cap - held.length);
    if (room <= 0) return refused("cap_reached");
    const picked = handOutOrder(c.conversations.filter((x) => x.holder === null && isOpen(x))).slice(0, room);
    for (const x of picked) x.holder = texterId;
    return ok(picked.map((x) => x.contactId));
  }

  /** S2–S8 request; the value is the contact ids handed out, in order. */
  request(campaignId: string, texterId: string, key: string | null): Expected<RequestPrediction> {
    const c = this.campaign(campaignId);
    const k = key === null ? null : `${texterId}\u0000${key}`;
    const previous = k === null ? undefined : c.idempotency.get(k);
    if (previous !== undefined) return ok({ contactIds: previous, replayed: true });
    if (c.status !== "active") return refused("campaign_not_active");
    if (!c.enabled) return refused("self_assignment_disabled");
    if (!c.senders.includes(texterId) || !this.members.has(texterId)) return refused("not_a_sender");
    const r = this.claim(c, texterId, false);
    if (r.kind !== "ok") return r;
    if (r.value.length === 0) return refused("nothing_available");
    if (k !== null) c.idempotency.set(k, r.value);
    return ok({ contactIds: r.value, replayed: false });
  }

  /** L2, L3 invite join. */
  join(token: string, userId: string): Expected<JoinPrediction> {
    const c = [...this.campaigns.values()].find((x) => x.token === token || x.revoked.includes(token));
    if (c === undefined) return refused("invalid_token");
    if (c.token !== token) return refused(c.revoked.includes(token) ? "token_revoked" : "invalid_token");
    if (!this.members.has(userId)) return refused("not_a_member");
    if (c.status !== "active") return refused("campaign_not_active");
    if (!c.enabled) return refused("self_assignment_disabled");
    const alreadySender = c.senders.includes(userId);
    if (!alreadySender) c.senders.push(userId);
    const r = this.claim(c, userId, true);
    const contactIds = r.kind === "ok" ? r.value : [];
    const firstBatch = r.kind === "refused" && r.reason === "holding" ? "already_holding" : contactIds.length > 0 ? "assigned" : "nothing_available";
    return ok({ campaignId: c.id, contactIds, firstBatch, alreadySender });
  }

  /** A2. */
  unassignAll(actor: string, campaignId: string): Expected<UnassignResult> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived") return error("INVALID_STATE");
    return ok({ unassigned: this.distribute(c.conversations.filter((x) => x.holder !== null), null) });
  }

  /** A3 (count) and A4 (count null). */
  reassign(
    actor: string,
    campaignId: string,
    from: "unassigned" | readonly string[],
    filter: StatusFilter,
    count: number | null,
    to: readonly string[],
  ): Expected<ReassignResult> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived" || c.status === "draft") return error("INVALID_STATE");
    const targets = [...new Set(to)];
    if (targets.some((u) => !c.senders.includes(u))) return error("NOT_A_SENDER");
    // Sources are not checked: a user who is not a sender holds nothing, so nothing moves from them (I2).
    const source = c.conversations.filter((x) =>
      from === "unassigned" ? x.holder === null : x.holder !== null && from.includes(x.holder),
    );
    const picked = handOutOrder(source.filter((x) => matchesFilter(x, filter))).slice(0, count ?? undefined);
    return ok({ moved: this.distribute(picked, targets) });
  }

  /** S9 release. */
  release(actor: string, campaignId: string, contactIds: readonly string[]): Expected<ReleaseResult> {
    const c = this.campaign(campaignId);
    const role = this.members.get(actor);
    const admin = role === "owner" || role === "admin";
    if (role === undefined) return error("NOT_A_MEMBER");
    if (!admin && !c.allowSelfRelease) return error("SELF_RELEASE_NOT_ALLOWED");
    if (c.status === "archived") return error("INVALID_STATE");
    const list = contactIds.map((id) => c.conversations.find((x) => x.contactId === id));
    if (list.some((x) => x === undefined)) return error("CONVERSATION_NOT_FOUND");
    if (list.some((x) => x!.holder === null || (!admin && x!.holder !== actor))) return error("NOT_HELD");
    const unique = [...new Set(list)];
    for (const x of unique) x!.holder = null;
    return ok({ released: unique.length });
  }

  /** M1 messaging events; `autoOptOutText` models M3 on a contact reply. */
  messaging(campaignId: string, contactId: string, kind: MessagingEvent, now: number, autoOptOutText?: string): Expected<null> {
    const conv = this.find(campaignId, contactId);
    if (conv === undefined) return error("CONVERSATION_NOT_FOUND");
    if (kind === "contact_replied" && autoOptOutText !== undefined && conv.status === "initial_sent") {
      return this.optOut(contactId);
    }
    const rule = TRANSITIONS[kind];
    if (!rule.from.includes(conv.status)) return error("INVALID_TRANSITION");
    if (rule.to === "needs_reply") {
      if (conv.status !== "needs_reply") conv.replyAt = now;
    } else conv.replyAt = null;
    conv.status = rule.to;
    return ok(null);
  }

  /** O3. */
  optOut(contactId: string): Expected<null> {
    this.optedOut.add(contactId);
    for (const c of this.campaigns.values()) {
      for (const x of c.conversations) {
        if (x.contactId === contactId) {
          x.status = "opted_out";
          x.replyAt = null;
        }
      }
    }
    return ok(null);
  }

  /** A1 overview counts: opted-out conversations in the total only (O3). */
  overview(campaignId: string): ModelOverview {
    const c = this.campaign(campaignId);
    const counted = c.conversations.filter((x) => x.status !== "opted_out");
    const un = counted.filter((x) => x.holder === null);
    const holders = [...c.senders];
    for (const x of counted) if (x.holder !== null && !holders.includes(x.holder)) holders.push(x.holder);
    return {
      total: c.conversations.length,
      unassigned: un.length,
      unassignedNotStarted: un.filter((x) => x.status === "not_started").length,
      unassignedNeedsReply: un.filter((x) => x.status === "needs_reply").length,
      senders: holders.map((userId) => {
        const held = this.heldBy(campaignId, userId).filter((x) => x.status !== "opted_out");
        return {
          userId,
          held: held.length,
          notStarted: held.filter((x) => x.status === "not_started").length,
          needsReply: held.filter((x) => x.status === "needs_reply").length,
        };
      }),
    };
  }
}

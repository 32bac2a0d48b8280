/**
 * The reference model: a deliberately simple, obviously-correct statement of the rules — plain
 * arrays and maps, O(pool) everything — that predicts what the engine must answer. Property tests
 * run random operation sequences against both and compare after every step.
 *
 * Conversations are keyed by contact id (unique per campaign, C2) because conversation ids belong
 * to the storage adapter.
 * @module
 */
import type {
  CampaignStatus,
  ConversationStatus,
  GatePolicy,
  Role,
  StatusFilter,
} from "../types.js";
import type { ErrorCode } from "../errors.js";
import type { ReassignResult, ReleaseResult, UnassignResult } from "../engine/engine.js";
import { type MessagingEvent, TRANSITIONS, handOutRank } from "../core/policy.js";

/** A conversation in the model. */
export interface ModelConversation {
  /** The contact (key within the campaign). */
  readonly contactId: string;
  /** Import order. */
  readonly seq: number;
  /** Status. */
  status: ConversationStatus;
  /** Holder or `null`. */
  holder: string | null;
  /** Time of the unanswered reply, for `needs_reply`. */
  replyAt: number | null;
}

/** A campaign in the model. */
export interface ModelCampaign {
  /** Campaign id (the engine's). */
  readonly id: string;
  /** Lifecycle state. */
  status: CampaignStatus;
  /** Self assignment on. */
  enabled: boolean;
  /** Batch size, `null` until first enabled. */
  batchSize: number | null;
  /** Gate policy. */
  gate: GatePolicy;
  /** Per-texter cap. */
  cap: number | null;
  /** Self release allowed. */
  allowSelfRelease: boolean;
  /** Senders in roster order. */
  senders: string[];
  /** Current invite token when enabled. */
  token: string | null;
  /** Revoked tokens. */
  revoked: string[];
  /** Conversations in import order. */
  conversations: ModelConversation[];
  /** Idempotency keys of successful requests: `texter\0key` → contact ids. */
  idempotency: Map<string, string[]>;
}

/** An expected outcome: a value, a refusal reason, or a thrown error code. */
export type Expected<T> =
  | {
      /** Success. */
      readonly kind: "ok";
      /** The expected result. */
      readonly value: T;
    }
  | {
      /** A typed refusal (requests and joins). */
      readonly kind: "refused";
      /** The refusal reason. */
      readonly reason: string;
    }
  | {
      /** An `AssignmentError`. */
      readonly kind: "error";
      /** Its code. */
      readonly code: ErrorCode;
    };

/** A predicted launch. */
export interface LaunchPrediction {
  /** Conversations split among senders. */
  readonly assigned: number;
}

/** Counts for imports. */
export interface ImportCounts {
  /** New conversations. */
  readonly created: number;
  /** Skipped contacts. */
  readonly skipped: number;
}

/** A predicted request result. */
export interface RequestPrediction {
  /** Contact ids handed out, in order. */
  readonly contactIds: string[];
  /** Whether it replays an earlier key. */
  readonly replayed: boolean;
}

/** A predicted invite join. */
export interface JoinPrediction {
  /** The campaign joined. */
  readonly campaignId: string;
  /** Contact ids of the first batch. */
  readonly contactIds: string[];
  /** `assigned`, `already_holding` or `nothing_available`. */
  readonly firstBatch: string;
  /** Whether the member already was a sender. */
  readonly alreadySender: boolean;
}

/** Per-holder counts in {@link ModelOverview}. */
export interface ModelSenderCounts {
  /** The holder. */
  readonly userId: string;
  /** Conversations held. */
  readonly held: number;
  /** Held, not started. */
  readonly notStarted: number;
  /** Held, needing a reply. */
  readonly needsReply: number;
}

/** The model's overview (A1). */
export interface ModelOverview {
  /** All conversations. */
  readonly total: number;
  /** Unassigned ones. */
  readonly unassigned: number;
  /** Unassigned, not started. */
  readonly unassignedNotStarted: number;
  /** Unassigned, needing a reply. */
  readonly unassignedNeedsReply: number;
  /** Senders in roster order, then other holders. */
  readonly senders: ModelSenderCounts[];
}

const ok = <T>(value: T): Expected<T> => ({ kind: "ok", value });
const refused = (reason: string): Expected<never> => ({ kind: "refused", reason });
const error = (code: ErrorCode): Expected<never> => ({ kind: "error", code });

function orderKey(c: ModelConversation): [number, number, number] {
  const rank = handOutRank(c.status) ?? (c.status === "closed" ? 3 : 4);
  return [rank, rank === 0 ? c.replyAt! : 0, c.seq];
}

/** Sort conversations in hand-out order (S4): needs reply by reply time, not started, the rest; closed, opted out last. */
export function handOutOrder(list: readonly ModelConversation[]): ModelConversation[] {
  return [...list].sort((a, b) => {
    const ka = orderKey(a);
    const kb = orderKey(b);
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2];
  });
}

function isOpen(c: ModelConversation): boolean {
  return handOutRank(c.status) !== null;
}

function matchesFilter(c: ModelConversation, filter: StatusFilter): boolean {
  return filter === "any" ? isOpen(c) : c.status === filter;
}

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

  /** A model with the given owner and members. */
  constructor(ownerId: string, members: Readonly<Record<string, Role>> = {}) {
    this.members.set(ownerId, "owner");
    for (const [u, r] of Object.entries(members)) this.members.set(u, r);
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

  /** C3 add senders. */
  addSenders(actor: string, campaignId: string, userIds: readonly string[]): Expected<null> {
    const c = this.campaign(campaignId);
    const denied = this.manages(actor);
    if (denied) return error(denied);
    if (c.status === "archived") return error("INVALID_STATE");
    if (userIds.some((u) => !this.members.has(u))) return error("NOT_A_MEMBER");
    for (const u of userIds) if (!c.senders.includes(u)) c.senders.push(u);
    return ok(null);
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
    if (!c.senders.includes(userId)) return error("NOT_A_SENDER");
    if (reassignTo.includes(userId)) return error("INVALID_INPUT");
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
    const rules = { pause: [["active"], "paused"], resume: [["paused"], "active"], archive: [["active", "paused"], "archived"] } as const;
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
    if (from !== "unassigned" && from.some((u) => !c.senders.includes(u))) return error("NOT_A_SENDER");
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

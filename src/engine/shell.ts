/**
 * What every engine module shares: the wrapped storage, the injected clock and id sources, the
 * loaders that turn a missing row into its error, and waiting — an operation that loses a race to a
 * concurrent change decides again, until it succeeds, its `signal` aborts, or its wait runs out.
 * @module
 */
import { customAlphabet, nanoid } from "nanoid";
import type { Actor, CampaignPlan } from "../core/changes.js";
import { type Context, actorTypeOf } from "../core/decision.js";
import { AssignmentError } from "../errors.js";
import type { CampaignContext, CampaignOutcome } from "../storage/aggregates.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { FactContext } from "../storage/facts.js";
import type { Campaign, Conversation, Member, Organization } from "../types.js";
import { parseConversationId } from "../storage/rules.js";
import { type EngineLogger, Observer } from "./observe.js";
import { listed } from "./schema.js";
import { type Storage, wrapStorage } from "./wrap-storage.js";

/** Sources of time and randomness, injectable so tests control them, and how long to wait. */
export interface EngineOptions {
  /** Storage adapter; `createEngine` from `selfassign` defaults to a fresh in-memory storage. */
  readonly storage: StorageAdapter;
  /** Clock, epoch milliseconds; default `Date.now`. */
  readonly clock?: () => number;
  /** Id generator for organizations and campaigns; default nanoid with a prefix. */
  readonly generateId?: (kind: "organization" | "campaign") => string;
  /** Invite token generator; default 32 nanoid characters (192 bits). A custom one must give at least 120 bits of randomness (L1). */
  readonly generateToken?: () => string;
  /**
   * Longest an operation goes on deciding again after lost races before failing with `TIMEOUT`
   * (nothing changed), ms; default 30,000. A wait for a lock inside storage has the adapter's own
   * bound (PostgreSQL's `lockTimeoutMs`). Each call can also pass an `AbortSignal` as `signal`.
   */
  readonly waitTimeoutMs?: number;
  /** Told of lost races (debug), timeouts and storage faults (warn); see also the `selfassign:*` diagnostics channels. */
  readonly logger?: EngineLogger;
  /**
   * Actor ids that stand for the host acting on its own authority — a sign-up flow adding members, an
   * importer, a scheduled job. Passed as `actorId`, one acts with an owner's authority in every
   * organization, and its events say `actorType: "system"`. Pick ids no user can have.
   */
  readonly systemActors?: readonly string[];
}

const tokenAlphabet = customAlphabet("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-", 32);

/** How many (campaign, texter) contexts an engine remembers for repeated requests. */
export const RECENT_CONTEXTS = 2_000;

/** The key of a (campaign, texter) context among the remembered ones: unambiguous whatever the ids hold. */
const recentKey = (campaignId: string, userId: string): string => JSON.stringify([campaignId, userId]);

/** Returned by an attempt that lost a race: decide again. */
export const AGAIN: unique symbol = Symbol("again");

/** The engine's shared state and helpers (one per engine). */
export class Shell {
  /** The adapter, wrapped. */
  readonly storage: Storage;
  /** The clock. */
  readonly clock: () => number;
  /** Ids for new organizations and campaigns. */
  readonly generateId: (kind: "organization" | "campaign") => string;
  /** Invite tokens. */
  readonly generateToken: () => string;
  /** How long to wait for a turn. */
  readonly waitTimeoutMs: number;
  /** Where waits and faults are reported. */
  readonly observer: Observer;
  /** The system actors' ids. */
  private readonly system: ReadonlySet<string>;
  /** Contexts of recent requests, least recently used first (see {@link recentContext}). */
  private readonly recent = new Map<string, CampaignContext>();

  constructor(options: EngineOptions) {
    const system = options.systemActors ?? [];
    if (!Array.isArray(system) || system.some((id) => typeof id !== "string" || id.length === 0)) {
      throw new AssignmentError("INVALID_INPUT", '"systemActors" must be a list of non-empty ids.', { details: { field: "systemActors" } });
    }
    this.system = new Set(system);
    this.observer = new Observer(options.logger);
    this.storage = wrapStorage(options.storage, this.observer);
    this.clock = options.clock ?? Date.now;
    this.generateId = options.generateId ?? ((kind) => `${kind === "organization" ? "org" : "cmp"}_${nanoid(16)}`);
    this.generateToken = options.generateToken ?? (() => tokenAlphabet());
    this.waitTimeoutMs = options.waitTimeoutMs ?? 30_000;
  }

  /** A decision context: now, and who acts. */
  ctx(actorId: string | null): Context {
    return actorId !== null && this.system.has(actorId) ? { now: this.clock(), actorId, system: true } : { now: this.clock(), actorId };
  }

  /** The fact context of a write. */
  facts(ctx: Context, orgId: string, campaignId: string | null): FactContext {
    return { at: ctx.now, orgId, campaignId, actorId: ctx.actorId, actorType: actorTypeOf(ctx) };
  }

  /** A system actor acts with an owner's authority in every organization. */
  private roleOf(actorId: string, role: Actor["role"]): Actor["role"] {
    return this.system.has(actorId) ? "owner" : role;
  }

  /**
   * Run `attempt` until it does not lose a race: each `AGAIN` waits a little (jittered) and decides
   * afresh. Fails with `ABORTED` when `signal` aborts and with `TIMEOUT` after `waitTimeoutMs`;
   * nothing was changed either way.
   */
  async retry<T>(operation: string, attempt: () => Promise<T | typeof AGAIN>, signal?: AbortSignal): Promise<T> {
    const deadline = performance.now() + this.waitTimeoutMs;
    for (let n = 0; ; n++) {
      abortIf(signal);
      const result = await attempt();
      if (result !== AGAIN) return result;
      this.observer.retried(operation, n + 1);
      if (performance.now() >= deadline) {
        this.observer.timedOut(operation, this.waitTimeoutMs);
        throw new AssignmentError("TIMEOUT", `The operation waited ${this.waitTimeoutMs} ms for its turn behind concurrent changes; nothing was changed. Retry it.`, {
          details: { waitTimeoutMs: this.waitTimeoutMs },
        });
      }
      if (n >= 1) await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** n) * Math.random()));
    }
  }

  /** The organization, or `ORGANIZATION_NOT_FOUND`. */
  async organization(orgId: string): Promise<Organization> {
    const org = await this.storage.getOrganization(orgId);
    if (org === null) throw new AssignmentError("ORGANIZATION_NOT_FOUND", `No organization "${orgId}".`, { details: { orgId } });
    return org;
  }

  /** The campaign, or `CAMPAIGN_NOT_FOUND`. */
  async campaign(campaignId: string): Promise<Campaign> {
    const campaign = await this.storage.getCampaign(campaignId);
    if (campaign === null) throw campaignNotFound(campaignId);
    return campaign;
  }

  /** A campaign, its organization and one user's role and sender row, or `CAMPAIGN_NOT_FOUND`. */
  async context(campaignId: string, userId: string): Promise<CampaignContext> {
    const c = await this.storage.getContext(campaignId, userId);
    if (c === null) throw campaignNotFound(campaignId);
    return c;
  }

  /**
   * The context this engine last read for a texter's request on a campaign, if it is among the
   * {@link RECENT_CONTEXTS} most recently used. Only for decisions that storage checks again in its
   * atomic step: a claim compares the campaign's version and reads the sender row there, so a
   * remembered context that went stale costs a lost race (decide again on a fresh read), never a
   * wrong result.
   */
  recentContext(campaignId: string, userId: string): CampaignContext | undefined {
    const key = recentKey(campaignId, userId);
    const c = this.recent.get(key);
    if (c !== undefined) this.recent.delete(key), this.recent.set(key, c);
    return c;
  }

  /** Remember (`c`) or forget (`null`) a texter's context for {@link recentContext}. */
  remember(campaignId: string, userId: string, c: CampaignContext | null): void {
    const key = recentKey(campaignId, userId);
    this.recent.delete(key);
    if (c === null) return;
    this.recent.set(key, c);
    if (this.recent.size > RECENT_CONTEXTS) this.recent.delete(this.recent.keys().next().value!);
  }

  /** A campaign with the actor (their role) in one read. */
  async campaignActor(campaignId: string, actorId: string): Promise<{ campaign: Campaign; organization: Organization; actor: Actor }> {
    const c = await this.context(campaignId, actorId);
    return { campaign: c.campaign, organization: c.organization, actor: { id: actorId, role: this.roleOf(actorId, c.role) } };
  }

  /** A member row, or `null`. */
  async member(orgId: string, userId: string): Promise<Member | null> {
    return ((await this.storage.readRoster({ roster: "members", orgId, userIds: [userId], limit: 1 })).rows[0] as Member | undefined) ?? null;
  }

  /** The actor: their role in the organization. */
  async actor(orgId: string, actorId: string): Promise<Actor> {
    return { id: actorId, role: this.roleOf(actorId, this.system.has(actorId) ? null : ((await this.member(orgId, actorId))?.role ?? null)) };
  }

  /** One conversation, or `CONVERSATION_NOT_FOUND`. */
  async conversation(conversationId: string): Promise<Conversation> {
    const key = parseConversationId(conversationId);
    const page = key === null ? null : await this.storage.listConversations({ campaignId: key.campaignId, statuses: "all", ids: [conversationId], limit: 1 });
    const found = page?.rows[0];
    if (found === undefined) {
      throw new AssignmentError("CONVERSATION_NOT_FOUND", `No conversation "${conversationId}".`, { details: { conversationId } });
    }
    return found;
  }

  /**
   * Decide a campaign change on the current aggregate and commit it, deciding again when another
   * change got there first. Refusals become errors; returns the stored campaign and what moved.
   */
  async commitCampaign(
    operation: string,
    campaignId: string,
    actorId: string,
    decide: (campaign: Campaign, actor: Actor, ctx: Context, organization: Organization) => CampaignPlan,
    signal?: AbortSignal,
  ): Promise<Extract<CampaignOutcome, { kind: "committed" }>> {
    return this.retry(operation, async () => {
      const { campaign, organization, actor } = await this.campaignActor(campaignId, actorId);
      const ctx = this.ctx(actorId);
      const plan = decide(campaign, actor, ctx, organization);
      if (plan.next === null && plan.senders === null && plan.moves.length === 0 && plan.facts.length === 0) {
        return { kind: "committed", campaign, added: [], moved: [] };
      }
      const outcome = await this.storage.commitCampaign({
        campaignId,
        expectedVersion: campaign.version,
        next: plan.next,
        senders: plan.senders,
        moves: plan.moves,
        now: ctx.now,
        facts: plan.facts,
        context: this.facts(ctx, campaign.orgId, campaignId),
      });
      switch (outcome.kind) {
        case "conflict":
          return AGAIN;
        case "exists":
          throw new AssignmentError("ALREADY_EXISTS", `Campaign "${campaignId}" already exists.`, { details: { campaignId } });
        case "refused":
          throw outcome.reason === "not_members"
            ? new AssignmentError("NOT_A_MEMBER", `Only organization members can be senders (C3); not members: ${listed(outcome.userIds)}.`, {
                details: { campaignId, userIds: outcome.userIds },
              })
            : new AssignmentError("NOT_A_SENDER", `Must be senders on campaign "${campaignId}" (A5, C3); not senders: ${listed(outcome.userIds)}.`, {
                details: { campaignId, userIds: outcome.userIds },
              });
        case "committed":
          return outcome;
      }
    }, signal);
  }
}

function campaignNotFound(campaignId: string): AssignmentError {
  return new AssignmentError("CAMPAIGN_NOT_FOUND", `No campaign "${campaignId}".`, { details: { campaignId } });
}

/** Throw `ABORTED` when the signal has aborted. */
export function abortIf(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    throw new AssignmentError("ABORTED", "The operation was aborted by its signal; nothing was changed.", { cause: signal.reason });
  }
}

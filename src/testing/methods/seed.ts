/**
 * Plain-data building blocks for the per-method checks: aggregates, fact contexts, requests, and a
 * seed (an organization with members, a campaign with senders and contacts) committed straight
 * through the adapter — no engine in between.
 * @module
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import type { CampaignOutcome } from "../../storage/aggregates.js";
import type { StorageAdapter } from "../../storage/contract.js";
import type { FactContext, FactRecord } from "../../storage/facts.js";
import type { ClaimRequest, ConversationChange, UpdateOutcome } from "../../storage/pool.js";
import type { Campaign, Conversation, ConversationStatus, EventType, Organization, Role } from "../../types.js";

/** The checks' clock: a Monday, 10:00 in New York. */
export const T0 = Date.UTC(2026, 0, 5, 15, 0);

let counter = 0;
const nonce = Math.random().toString(36).slice(2, 8);

/** A fresh id, unique in this process run (checks may share a database). */
export function freshId(kind: string): string {
  return `m-${nonce}-${kind}-${++counter}`;
}

/** A fact context. */
export function context(orgId: string, campaignId: string | null, actorId: string | null = "admin", at = T0): FactContext {
  return { at, orgId, campaignId, actorId, actorType: actorId === null ? "host" : "user" };
}

/** A new organization aggregate (version 1). */
export function organization(id: string): Organization {
  return { id, name: "Kit org", defaultBatchSize: 300, createdAt: T0, version: 1 };
}

/** A campaign aggregate: active, self assignment on (batch 3), no invite link, version 1, unless patched. */
export function campaignOf(id: string, orgId: string, patch: Partial<Campaign> = {}): Campaign {
  return {
    id,
    orgId,
    title: "Kit",
    status: "active",
    createdAt: T0,
    launchedAt: T0,
    selfAssignment: {
      enabled: true,
      batchSize: 3,
      gate: "none",
      maxHeldPerTexter: null,
      allowSelfRelease: true,
      releaseNotStartedAfterMs: null,
      releaseNeedsReplyAfterMs: null,
    },
    invite: { enabled: false, token: null, revokedTokens: [] },
    schedule: { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null },
    bulkSend: null,
    version: 1,
    ...patch,
  };
}

/** What {@link seed} committed. */
export interface Seeded {
  /** The storage. */
  readonly storage: StorageAdapter;
  /** The organization. */
  readonly orgId: string;
  /** The campaign as stored. */
  campaign: Campaign;
  /** Its id. */
  readonly campaignId: string;
  /** Conversation id by contact id. */
  readonly ids: Map<string, string>;
}

/** Expect a committed campaign outcome and return it. */
export function committed(outcome: CampaignOutcome, what: string): Extract<CampaignOutcome, { kind: "committed" }> {
  ok(outcome.kind === "committed", `${what}: expected committed, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/**
 * Commit an organization (owner `admin` plus `members`) and a campaign (active unless patched) with
 * `senders` and `contacts`, through the adapter's own writes.
 */
export async function seed(
  storage: StorageAdapter,
  options: { members?: readonly (readonly [string, Role])[]; senders?: readonly string[]; contacts?: readonly string[]; campaign?: Partial<Campaign> } = {},
): Promise<Seeded> {
  const orgId = freshId("org");
  const org = await storage.commitOrganization({
    orgId,
    expectedVersion: null,
    next: organization(orgId),
    members: { kind: "add", members: [{ userId: "admin", role: "owner" }, ...(options.members ?? []).map(([userId, role]) => ({ userId, role }))] },
    facts: [],
    context: context(orgId, null),
  });
  ok(org.kind === "committed", `commitOrganization: inserting a new organization gave ${JSON.stringify(org)}`);
  const campaignId = freshId("cmp");
  const created = committed(
    await storage.commitCampaign({
      campaignId,
      expectedVersion: null,
      next: campaignOf(campaignId, orgId, options.campaign),
      senders: null,
      moves: [],
      now: T0,
      facts: [],
      context: context(orgId, campaignId),
    }),
    "commitCampaign: inserting a new campaign",
  );
  const ids = new Map<string, string>();
  const s: Seeded = { storage, orgId, campaign: created.campaign, campaignId, ids };
  if (options.senders !== undefined && options.senders.length > 0) {
    // As the engine does: the insert, then the senders (on the inserted version).
    const added = await storage.commitCampaign({
      campaignId,
      expectedVersion: s.campaign.version,
      next: null,
      senders: { kind: "add", userIds: options.senders, via: "admin" },
      moves: [],
      now: T0,
      facts: [],
      context: context(orgId, campaignId),
    });
    s.campaign = committed(added, "commitCampaign: adding senders").campaign;
  }
  if (options.contacts !== undefined) await importContacts(s, options.contacts);
  return s;
}

/** Import contacts into the seeded campaign (recording their ids). */
export async function importContacts(s: Seeded, contactIds: readonly string[]): Promise<void> {
  const outcome = await s.storage.importConversations({
    campaignId: s.campaignId,
    expectedVersion: s.campaign.version,
    contacts: contactIds.map((contactId) => ({ contactId })),
    returnIds: true,
    context: context(s.orgId, s.campaignId),
  });
  ok(outcome.kind === "imported", `importConversations: expected imported, got ${JSON.stringify(outcome)}`);
  for (const x of outcome.ids) s.ids.set(x.contactId, x.conversationId);
}

/** The conversation id of a seeded contact. */
export function idOf(s: Seeded, contactId: string): string {
  const id = s.ids.get(contactId);
  ok(id !== undefined, `no conversation for contact ${contactId}`);
  return id;
}

/** A claim request for the seeded campaign: batch 3, no gate, no cap, every rank, no key. */
export function claimOf(s: Seeded, texterId: string, patch: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    campaignId: s.campaignId,
    texterId,
    expectedVersion: s.campaign.version,
    join: null,
    limit: 3,
    maxHeld: null,
    gate: { maxNotStarted: null, maxNeedsReply: null },
    ranks: [0, 1, 2],
    contactZones: null,
    idempotencyKey: null,
    now: T0,
    context: context(s.orgId, s.campaignId, texterId),
    ...patch,
  };
}

/** Apply changes to named conversations (not atomic unless asked). */
export async function update(s: Seeded, changes: readonly ConversationChange[], options: { atomic?: boolean; now?: number; releaseReason?: "self_release" | "admin_release" } = {}): Promise<UpdateOutcome> {
  return s.storage.updateConversations({
    campaignId: s.campaignId,
    changes,
    atomic: options.atomic ?? false,
    releaseReason: options.releaseReason ?? "admin_release",
    now: options.now ?? T0,
    context: context(s.orgId, s.campaignId, null, options.now ?? T0),
  });
}

/** Move a contact's conversation through statuses (each step from whatever it is), at `now`. */
export async function setStatus(s: Seeded, contactId: string, to: ConversationStatus, now = T0): Promise<void> {
  const all: ConversationStatus[] = ["not_started", "initial_sent", "needs_reply", "replied", "closed", "opted_out"];
  const r = await update(s, [{ conversationId: idOf(s, contactId), status: { from: all, to } }], { now });
  ok(r.results[0]?.kind === "changed", `updateConversations: setting ${contactId} to ${to} gave ${JSON.stringify(r.results[0])}`);
}

/** Every fact of the seeded campaign (or of `types`), oldest first. */
export async function factsOf(s: Seeded, types?: readonly EventType[]): Promise<FactRecord[]> {
  const all: FactRecord[] = [];
  for (;;) {
    const page = await s.storage.readFacts({ after: all.length === 0 ? 0 : all[all.length - 1]!.seq, limit: 1000, campaignId: s.campaignId, ...(types === undefined ? {} : { types }) });
    if (page.length === 0) return all;
    all.push(...page);
  }
}

/** Contact ids of conversations, in order. */
export const contacts = (list: readonly Conversation[]): string[] => list.map((c) => c.contactId);

/** Assert two values are equal, with a message. */
export function same(actual: unknown, expected: unknown, message: string): void {
  deepStrictEqual(actual, expected, message);
}

/**
 * Set-up shared by the kit's engine-level checks (races, rosters, atomicity, bulk send, time): an
 * engine on the storage under test with a controlled clock and fresh ids, an organization, and a
 * campaign with contacts and settings.
 * @module
 */
import { Engine } from "../engine/engine.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { GatePolicy, Sender } from "../types.js";

/** A Monday, 10:00 in New York: inside the default texting hours (T1). */
export const MONDAY_10AM = Date.UTC(2026, 0, 5, 15, 0);

let counter = 0;
const nonce = Math.random().toString(36).slice(2, 8);

/** A manual clock. */
export interface Clock {
  /** Now, epoch ms. */
  now: number;
}

/** An engine over `storage` with the clock and ids unique to this process run. */
export function engineOn(storage: StorageAdapter, clock: Clock, prefix = "kit"): Engine {
  return new Engine({ storage, clock: () => clock.now, generateId: (kind) => `${prefix}-${nonce}-${kind}-${++counter}` });
}

/** What {@link campaignWorld} sets up. */
export interface CampaignWorldOptions {
  /** Contacts `c0`, `c1`, … to import. */
  readonly contacts: number;
  /** Self-assignment batch size. */
  readonly batchSize: number;
  /** Gate (default `no-pending-initials`). */
  readonly gate?: GatePolicy;
  /** Per-texter cap (default none). */
  readonly cap?: number | null;
  /** Members added as texters (not senders). */
  readonly members: readonly string[];
  /** Of those, the ones added as senders after launch. */
  readonly senders: readonly string[];
  /** Launch it (default true). */
  readonly launch?: boolean;
}

/** An organization owned by `admin` and a campaign in it, with self assignment on and the invite link enabled. */
export async function campaignWorld(engine: Engine, options: CampaignWorldOptions): Promise<{ orgId: string; campaignId: string; token: string }> {
  const org = await engine.createOrganization({ name: "Org", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: options.members.map((userId) => ({ userId, role: "texter" as const })) });
  const { id: campaignId } = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Kit" });
  await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: options.contacts }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({
    actorId: "admin",
    campaignId,
    enabled: true,
    batchSize: options.batchSize,
    gate: options.gate ?? "no-pending-initials",
    maxHeldPerTexter: options.cap ?? null,
    allowSelfRelease: true,
  });
  if (options.launch !== false) await engine.launchCampaign({ actorId: "admin", campaignId });
  if (options.senders.length > 0) await engine.addSenders({ actorId: "admin", campaignId, userIds: options.senders });
  const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId });
  return { orgId: org.id, campaignId, token };
}

/** Every sender of a campaign, in roster order (paged). */
export async function allSenders(engine: Engine, campaignId: string, actorId = "admin"): Promise<Sender[]> {
  const all: Sender[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: { items: readonly Sender[]; cursor: string | null } = await engine.listSenders({ actorId, campaignId, cursor, limit: 1000 });
    all.push(...page.items);
    if (page.cursor === null) return all;
    cursor = page.cursor;
  }
}

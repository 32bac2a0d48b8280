import { createEngine, type Engine, type EngineOptions } from "../src/index.js";

const nonce = Math.random().toString(36).slice(2, 8);
let unique = 0;

/** Ids unique across every test in this process (tests may share one database schema). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${nonce}-${++unique}`;
}

/** A manual clock for tests. */
export function manualClock(start = Date.UTC(2026, 10, 3, 15, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** An engine with an organization, an owner "admin", texters t1..tN, and a draft campaign with `contacts` conversations. */
export async function setup(
  options: { texters?: number; contacts?: number; engine?: EngineOptions; admin?: string } = {},
): Promise<{ engine: Engine; orgId: string; campaignId: string; admin: string; texters: string[]; clock: ReturnType<typeof manualClock> }> {
  const clock = manualClock();
  const engine = createEngine({
    clock: clock.now,
    generateId: (kind) => uniqueId(kind === "organization" ? "org" : "cmp"),
    ...options.engine,
  });
  const admin = options.admin ?? "admin";
  const org = await engine.createOrganization({ name: "Org", ownerId: admin });
  const texters = Array.from({ length: options.texters ?? 0 }, (_, i) => `t${i + 1}`);
  for (const t of texters) await engine.addMember({ actorId: admin, orgId: org.id, userId: t, role: "texter" });
  const campaign = await engine.createCampaign({ actorId: admin, orgId: org.id, title: "GOTV" });
  const count = options.contacts ?? 0;
  if (count > 0) {
    await engine.importContacts({
      actorId: admin,
      campaignId: campaign.id,
      contacts: Array.from({ length: count }, (_, i) => ({ contactId: `c${i}` })),
    });
  }
  return { engine, orgId: org.id, campaignId: campaign.id, admin, texters, clock };
}

/**
 * One turn of a floor race's claimer: request a batch, then give a third of it back (released, so below
 * any floor), one of them first made to need a reply (rank 0) when `reply`. Moves racing this may have
 * taken a conversation already (NOT_HELD, M1): nothing changes then. Returns how many it got.
 */
export async function claimAndGiveSomeBack(engine: Engine, campaignId: string, texterId: string, options: { reply: boolean; idempotencyKey?: string }): Promise<number> {
  const r = await engine.requestConversations({ campaignId, texterId, ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }) });
  if (!r.ok) return 0;
  const back = r.conversations.filter((_, i) => i % 3 === 0);
  const fresh = back.find((c) => c.status === "not_started");
  if (fresh !== undefined && options.reply) {
    await engine.recordInitialSent({ conversationId: fresh.id }).catch(() => undefined);
    await engine.recordContactReply({ conversationId: fresh.id }).catch(() => undefined);
  }
  if (back.length > 0) await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: back.map((c) => c.id) }).catch(() => undefined);
  return r.conversations.length;
}

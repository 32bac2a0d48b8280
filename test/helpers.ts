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

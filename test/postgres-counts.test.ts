/**
 * The overview's counts on PostgreSQL (A1) come from delta rows that statement triggers write with
 * every change to `conversations` (migration 8), folded together now and then. They must equal a
 * count of the rows themselves at every moment: after a migration of a database that already has
 * conversations, while claims, moves, status changes and compactions race, and after a compaction.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { MIGRATIONS, createPostgresStorage } from "../src/postgres.js";
import { COMPACT_AFTER, compactCounts } from "../src/postgres/sql/reads.js";
import { statusCode } from "../src/storage/rules.js";
import { manualClock, uniqueId } from "./helpers.js";
import { observedPool, postgresFixture, schemaAtVersion } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

/** Counts by holder and status read with plain SQL from the conversations themselves, sorted. */
async function truth(f: Fixture, schema: string, campaignId: string): Promise<string[]> {
  const { rows } = await f.pool.query<{ assignee: string | null; status: number; n: string }>(
    `SELECT assignee, status, count(*) AS n FROM "${schema}".conversations WHERE campaign_id = $1 GROUP BY 1, 2`,
    [campaignId],
  );
  return rows.map((r) => `${r.assignee ?? "-"}/${r.status}/${r.n}`).sort();
}

/** The same counts as the adapter reports them (the overview's source), sorted alike. */
async function reported(storage: ReturnType<typeof createPostgresStorage>, campaignId: string): Promise<string[]> {
  const { rows } = await storage.countConversations!(campaignId);
  return rows.map((r) => `${r.holder ?? "-"}/${statusCode(r.status)}/${r.count}`).sort();
}

async function deltaRows(f: Fixture, schema: string, campaignId: string): Promise<number> {
  const { rows } = await f.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".conversation_counts WHERE campaign_id = $1`, [campaignId]);
  return Number(rows[0]!.n);
}

async function launched(engine: Engine, contacts: number, texters: readonly string[]) {
  const org = await engine.createOrganization({ name: "Counts", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Counts" });
  await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: contacts }, (_, i) => ({ contactId: `k${i}` })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 20, gate: "none" });
  await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
  await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: [...texters] });
  return c.id;
}

describe("PostgreSQL conversation counts (A1, migration 8)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 12 });
  });
  afterAll(async () => {
    await f.close();
  });

  /**
   * A schema migrated, then with the update trigger's body of version 10 and no version 12 (a server
   * that did not migrate): this release's claims must not count their rows themselves there, or every
   * claim would count twice.
   */
  async function before12(schema: string) {
    const q = `"${schema}"`;
    const storage = createPostgresStorage({ pool: f.pool, schema });
    await storage.migrate();
    const v10 = MIGRATIONS.find((m) => m.version === 10)!.statements.find((s) => s.includes("count_conversations_updated()"))!;
    await f.pool.query(v10.replaceAll("$schema", q));
    await f.pool.query(`DELETE FROM ${q}.schema_migrations WHERE version = 12`);
    return { schema, q, storage };
  }

  it("A1: a database at version 7 with conversations gets counts equal to its rows, and keeps them through later writes", async () => {
    const schema = `${f.schema}_v7`;
    const q = `"${schema}"`;
    // Rows as a release without counts left them: written by this release in a scratch schema, then
    // copied into one at version 7 (the tables they share have the same columns there).
    const scratch = `${f.schema}_v7_source`;
    const source = createPostgresStorage({ pool: f.pool, schema: scratch });
    await source.migrate();
    const writer = createEngine({ storage: source, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const campaignId = await launched(writer, 300, ["a", "b", "c"]);
    for (const texterId of ["a", "b", "a"]) await writer.requestConversations({ campaignId, texterId });
    await schemaAtVersion(f.pool, schema, 7);
    for (const t of ["organizations", "org_members", "campaigns", "campaign_senders", "invite_tokens", "conversations", "campaign_contacts", "campaign_time_zones"]) {
      await f.pool.query(`INSERT INTO ${q}.${t} SELECT * FROM "${scratch}".${t}`);
    }
    await f.pool.query(`DROP SCHEMA "${scratch}" CASCADE`);
    expect((await f.pool.query(`SELECT count(*)::int AS n FROM ${q}.conversations WHERE assignee IS NOT NULL`)).rows[0].n).toBe(60);
    const storage = createPostgresStorage({ pool: f.pool, schema });
    const engine = createEngine({ storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const [a, b] = await Promise.all([storage.migrate(), storage.migrate()]); // two app servers upgrading at once
    expect([a.applied, b.applied].sort((x, y) => x.length - y.length)).toEqual([[], MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version)]);
    expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
    await engine.requestConversations({ campaignId, texterId: "c" });
    await engine.unassignAll({ actorId: "admin", campaignId });
    expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
    const overview = await engine.getOverview({ actorId: "admin", campaignId });
    expect(overview.total).toBe(300);
    expect(overview.unassigned).toBe(300);
    await f.pool.query(`DROP SCHEMA ${q} CASCADE`);
  });

  it("A1, migration 12: one-round-trip claims count once, whether the update trigger predates migration 12 (a server that did not migrate) or not", async () => {
    const { schema, q, storage } = await before12(`${f.schema}_v11`);
    const engine = createEngine({ storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const texters = ["a", "b", "c", "d"];
    const campaignId = await launched(engine, 400, texters);
    const claimAll = async () => {
      for (const texterId of texters) expect((await engine.requestConversations({ campaignId, texterId })).ok).toBe(true);
      await engine.unassignAll({ actorId: "admin", campaignId });
    };
    await claimAll();
    await claimAll(); // the campaign's zones are known now: each claim is one round trip
    expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
    expect((await storage.migrate()).applied).toEqual([12]);
    await claimAll();
    for (const texterId of texters) await engine.requestConversations({ campaignId, texterId });
    expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
    await f.pool.query(`DROP SCHEMA ${q} CASCADE`);
  });

  it("A1, migration 12: grouped claims count once, on an update trigger that predates migration 12 and after it, dealing rows of two statuses", async () => {
    const { schema, q, storage } = await before12(`${f.schema}_g11`);
    const clock = manualClock();
    const engine = createEngine({ storage, clock: clock.now, generateId: (kind) => uniqueId(kind) });
    const texters = ["a", "b", "c", "d", "e"];
    const campaignId = await launched(engine, 600, texters);
    // One claim at a time on this server, so requests that arrive together wait and run as a group;
    // its statements are recorded to see the group's hand-out (`width_bucket` deals the ranges), sent
    // as text or prepared (then the `EXECUTE` of a name whose `PREPARE` dealt ranges).
    const sent: string[] = [];
    const groupStatements = new Set<string>();
    const grouping = (text: string) => {
      if (text.includes("width_bucket")) for (const m of text.matchAll(/PREPARE (selfassign_\w+)/g)) groupStatements.add(m[1]!);
      return text.includes("width_bucket") || [...groupStatements].some((name) => text.includes(`EXECUTE ${name}`));
    };
    const recording = observedPool(f.pool, (text) => sent.push(text));
    const grouped = createEngine({ storage: createPostgresStorage({ pool: recording, schema, maxConcurrentClaims: 1 }), clock: clock.now, generateId: (kind) => uniqueId(kind) });
    const rush = async () => {
      // Some replies first: the group deals needs-reply rows and not-started ones.
      const r = await engine.requestConversations({ campaignId, texterId: "a" });
      const some = r.ok ? r.conversations.slice(0, 6) : [];
      await engine.recordMessages({ actorId: "a", campaignId, messages: some.map((c) => ({ conversationId: c.id, event: "initial_sent" as const })) });
      for (const c of some) await engine.recordContactReply({ conversationId: c.id });
      await engine.unassignAll({ actorId: "admin", campaignId });
      const before = sent.length;
      const results = await Promise.all(texters.map((texterId) => grouped.requestConversations({ campaignId, texterId })));
      expect(results.every((x) => x.ok && x.conversations.length === 20)).toBe(true);
      expect(sent.slice(before).filter(grouping).length).toBeGreaterThan(0);
      expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
      expect((await truth(f, schema, campaignId)).filter((row) => !row.startsWith("-/")).length).toBeGreaterThan(texters.length); // two statuses held
      await engine.unassignAll({ actorId: "admin", campaignId });
    };
    await rush();
    await rush(); // prepared now
    expect((await storage.migrate()).applied).toEqual([12]);
    await rush();
    await rush();
    expect(await reported(storage, campaignId)).toEqual(await truth(f, schema, campaignId));
    await f.pool.query(`DROP SCHEMA ${q} CASCADE`);
  });

  it("A1, migration 12: counts stay exact while one app server migrates to version 12 and another's requesters claim in one round trip", async () => {
    const schema = `${f.schema}_to12`;
    const q = `"${schema}"`;
    await schemaAtVersion(f.pool, schema, 11);
    const claimer = createPostgresStorage({ pool: f.pool, schema });
    const engine = createEngine({ storage: claimer, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    const texters = Array.from({ length: 6 }, (_, i) => `m${i}`);
    const campaignId = await launched(engine, 3_000, texters);
    let stop = false;
    let claims = 0;
    const requesters = texters.map(async (texterId) => {
      while (!stop) {
        const r = await engine.requestConversations({ campaignId, texterId });
        if (r.ok) claims++;
      }
    });
    while (claims < 30) await new Promise((resolve) => setTimeout(resolve, 5));
    const other = createPostgresStorage({ pool: f.server().pool, schema }); // another app server, upgrading
    expect((await other.migrate()).applied).toEqual(MIGRATIONS.filter((m) => m.version > 11).map((m) => m.version));
    const after = claims;
    while (claims < after + 30) await new Promise((resolve) => setTimeout(resolve, 5));
    stop = true;
    await Promise.all(requesters);
    expect(await reported(claimer, campaignId)).toEqual(await truth(f, schema, campaignId));
    await f.pool.query(`DROP SCHEMA ${q} CASCADE`);
  });

  it("A1, I8: counts stay exact while 12 requesters claim, texters send, admins move and compactions run at once", async () => {
    const engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) }); // inside texting hours at any hour (T1)
    const texters = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const campaignId = await launched(engine, 3_000, texters);
    let stop = false;
    const requesters = texters.map(async (texterId) => {
      while (!stop) {
        const r = await engine.requestConversations({ campaignId, texterId });
        if (r.ok && r.conversations.length > 0) {
          await engine.recordMessages({
            actorId: texterId,
            campaignId,
            messages: r.conversations.slice(0, 5).map((c) => ({ conversationId: c.id, event: "initial_sent" as const })),
          });
          await engine.releaseConversations({ actorId: texterId, campaignId, conversationIds: r.conversations.slice(5).map((c) => c.id) }).catch(() => undefined);
        }
      }
    });
    const admin = (async () => {
      for (let i = 0; i < 6; i++) {
        await engine.reassignSome({ actorId: "admin", campaignId, from: "unassigned", filter: "any", count: 15, to: [texters[i]!] }).catch(() => undefined);
        await engine.unassignAll({ actorId: "admin", campaignId });
      }
    })();
    const compactor = (async () => {
      for (let i = 0; i < 30; i++) await compactCounts(f.pool, `"${f.schema}"`, campaignId);
    })();
    await Promise.all([admin, compactor]);
    stop = true;
    await Promise.all(requesters);
    expect(await reported(f.storage, campaignId)).toEqual(await truth(f, f.schema, campaignId));
    await compactCounts(f.pool, `"${f.schema}"`, campaignId);
    expect(await reported(f.storage, campaignId)).toEqual(await truth(f, f.schema, campaignId));
    // Compacted: one row per (holder, status) that is not zero.
    expect(await deltaRows(f, f.schema, campaignId)).toBe((await truth(f, f.schema, campaignId)).length);
  });

  it("A1: a count read folds the delta rows once they outgrow the groups (after answering); an 'any holder' listing and stale release do too", async () => {
    const engine = createEngine({ storage: f.storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) }); // inside texting hours at any hour (T1)
    const texters = ["x", "y"];
    const campaignId = await launched(engine, 2_000, texters);
    // Every claim and release writes its own delta rows: far more rows than groups.
    for (let i = 0; i < COMPACT_AFTER / 2 + 10; i++) {
      const r = await engine.requestConversations({ campaignId, texterId: texters[i % 2]! });
      if (r.ok) await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
    }
    expect(await deltaRows(f, f.schema, campaignId)).toBeGreaterThan(COMPACT_AFTER);
    const before = await truth(f, f.schema, campaignId);
    expect(await reported(f.storage, campaignId)).toEqual(before); // this read starts a fold, in the background
    await vi.waitFor(async () => expect(await deltaRows(f, f.schema, campaignId)).toBe(before.length), { timeout: 10_000, interval: 20 });
    // An admin's "any holder" listing reads the holders' delta rows: it folds them too, after answering.
    const claimAndRelease = async () => {
      for (let i = 0; i < COMPACT_AFTER / 2 + 10; i++) {
        const r = await engine.requestConversations({ campaignId, texterId: texters[i % 2]! });
        if (r.ok) await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
      }
    };
    await claimAndRelease();
    await engine.requestConversations({ campaignId, texterId: "x" }); // a holder, so the listing has held rows to merge
    expect(await deltaRows(f, f.schema, campaignId)).toBeGreaterThan(COMPACT_AFTER);
    const listed = await engine.listConversations({ actorId: "admin", campaignId, limit: 5 });
    expect(listed.items.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4]);
    const held = await truth(f, f.schema, campaignId);
    await vi.waitFor(async () => expect(await deltaRows(f, f.schema, campaignId)).toBe(held.length), { timeout: 10_000, interval: 20 });
    expect(await reported(f.storage, campaignId)).toEqual(held);
    for (let i = 0; i < COMPACT_AFTER / 2 + 10; i++) {
      const r = await engine.requestConversations({ campaignId, texterId: texters[i % 2]! });
      if (r.ok) await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
    }
    expect(await deltaRows(f, f.schema, campaignId)).toBeGreaterThan(COMPACT_AFTER);
    // Stale release (here with a cutoff nothing has reached yet) folds them too, for campaigns nobody reads an overview of.
    await engine.updateCampaignSettings({ actorId: "admin", campaignId, releaseNotStartedAfterMs: 24 * 3600_000 });
    expect((await engine.releaseStale({ campaignId })).released).toBe(0);
    expect(await deltaRows(f, f.schema, campaignId)).toBe((await truth(f, f.schema, campaignId)).length);
  });
});

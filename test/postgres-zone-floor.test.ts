/**
 * The zone floors on PostgreSQL (migration 11, issue 12): with closed contact zones (T2) a claim reads
 * one range of the per-zone index per open zone, starting at that zone's floor instead of at the dead
 * entries of the zone's rows claimed since the last VACUUM. A zone's floor is only a place to start:
 * no committed unassigned not-started row of the zone may lie below the lowest of it and the lowering
 * rows, or hand-out order (S4) breaks and rows are stranded until the zone opens with nothing to take.
 * Checked with zones opening and closing in turn while claims, releases, replies, moves and imports
 * race, and with the index pages a zoned claim reads on a zone drained since the last VACUUM.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { handOutQuery } from "../src/postgres/sql/claim.js";
import { claimAndGiveSomeBack, manualClock, uniqueId } from "./helpers.js";
import { handOutScanBuffers, postgresFixture } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

// The campaign keeps Chicago's hours (09:00–21:00). At 16:00 UTC London is open and Singapore closed
// (00:00); at 01:30 UTC Singapore is open (09:30) and London closed. Contacts of unknown zone always count.
const LONDON_OPEN = Date.UTC(2026, 10, 3, 16, 0);
const SINGAPORE_OPEN = Date.UTC(2026, 10, 4, 1, 30);
const ZONES = ["Europe/London", "Asia/Singapore", null] as const;

describe("PostgreSQL zone floors (S4, T2, migration 11)", () => {
  let f: Fixture;
  let engine: Engine;
  let orgId: string;
  const clock = manualClock(LONDON_OPEN);
  const texters = Array.from({ length: 10 }, (_, i) => `t${i}`);

  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 12 });
    engine = createEngine({ storage: f.storage, clock: clock.now, generateId: (kind) => uniqueId(kind) });
    orgId = (await engine.createOrganization({ name: "Zone floors", ownerId: "admin" })).id;
    await engine.addMembers({ actorId: "admin", orgId, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  });
  afterAll(async () => {
    await f.close();
  });

  const at = (time: number) => clock.advance(time - clock.now());

  async function campaign(size: number, batchSize: number, prefix = "c"): Promise<string> {
    const c = await engine.createCampaign({ actorId: "admin", orgId, title: "zones" });
    await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: size }, (_, i) => ({ contactId: `${prefix}${i}`, timeZone: ZONES[i % 3]! })) });
    await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize, gate: "none", timeZone: "America/Chicago" });
    await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
    await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters });
    return c.id;
  }

  /** Every kept zone floor lies at or below its zone's first unassigned not-started row, counting the lowering rows. */
  async function expectZoneFloorsBelowEveryUnassignedRow(campaignId: string): Promise<number> {
    const s = `"${f.schema}"`;
    const { rows } = await f.pool.query<{ tz: string; floor: string[]; first: string[] | null; lo: string[] | null }>(
      `SELECT z.key AS tz, ARRAY[z.value ->> 0, z.value ->> 1] AS floor,
              (SELECT ARRAY[sort_key, seq]::text[] FROM ${s}.conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank = 1
                 AND coalesce(contact_tz, '') = z.key ORDER BY sort_key, seq LIMIT 1) AS first,
              (SELECT ARRAY[sort_key, seq]::text[] FROM ${s}.pool_floor_lowers WHERE campaign_id = $1 AND rank <= 1 ORDER BY sort_key, seq LIMIT 1) AS lo
       FROM ${s}.pool_floors p CROSS JOIN LATERAL jsonb_each(p.zones) z WHERE p.campaign_id = $1 AND p.zone_gen = p.gen`,
      [campaignId],
    );
    const below = (a: string[], b: string[]) => BigInt(a[0]!) < BigInt(b[0]!) || (a[0] === b[0] && BigInt(a[1]!) <= BigInt(b[1]!));
    for (const r of rows) {
      if (r.first === null) continue;
      const start = r.lo !== null && below(r.lo, r.floor) ? r.lo : r.floor;
      expect(below(start, r.first), `zone '${r.tz}': floor ${start} lies above the unassigned row ${r.first}`).toBe(true);
    }
    return rows.length;
  }

  /**
   * At Singapore's hours, a first batch and three more (the zone floors move past the first), then the
   * first batch released (lowering rows): its ids.
   */
  async function releaseFirstBatchBelowTheFloors(campaignId: string): Promise<string[]> {
    at(SINGAPORE_OPEN);
    const first = await engine.requestConversations({ campaignId, texterId: "t0" });
    for (let i = 0; i < 3; i++) await engine.requestConversations({ campaignId, texterId: `t${1 + i}` });
    const ids = first.ok ? first.conversations.map((c) => c.id) : [];
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: ids });
    return ids;
  }

  it("S4, I1: no unassigned row of a zone is left below its floor while zones open and close and claims, releases, replies, moves and imports race", async () => {
    const campaignId = await campaign(3_000, 25);
    let kept = 0;
    for (let phase = 0; phase < 6; phase++) {
      at(phase % 2 === 0 ? LONDON_OPEN : SINGAPORE_OPEN);
      let stop = false;
      const claimers = texters.slice(0, 6).map(async (texterId, k) => {
        // Keyed requests take the usual three round trips, unkeyed ones the one-round-trip claim.
        while (!stop) await claimAndGiveSomeBack(engine, campaignId, texterId, { reply: k % 2 === 0, ...(k % 3 === 0 ? { idempotencyKey: uniqueId("key") } : {}) });
      });
      // Rows claimed in the other zone's phase come back now, while their zone is closed.
      const admin = (async () => {
        const held = await engine.listAssignments({ actorId: "admin", campaignId, texterId: texters[phase % 6]!, cursor: null, limit: 40 });
        await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: held.items.map((c) => c.id) }).catch(() => undefined);
        if (phase === 3) await engine.unassignAll({ actorId: "admin", campaignId });
        await engine.importContacts({ actorId: "admin", campaignId, contacts: Array.from({ length: 90 }, (_, k) => ({ contactId: `more-${phase}-${k}`, timeZone: ZONES[k % 3]! })) });
        await engine.reassignSome({ actorId: "admin", campaignId, from: "unassigned", filter: "any", count: 20, to: ["t9"] });
        kept = Math.max(kept, await expectZoneFloorsBelowEveryUnassignedRow(campaignId));
      })();
      await admin;
      stop = true;
      await Promise.all(claimers);
      kept = Math.max(kept, await expectZoneFloorsBelowEveryUnassignedRow(campaignId));
    }
    expect(kept).toBeGreaterThanOrEqual(2); // zone floors were kept and checked
    // Drain each zone in its own hours, checking after every claim; then nothing unassigned is left.
    for (const time of [LONDON_OPEN, SINGAPORE_OPEN]) {
      at(time);
      for (;;) {
        const r = await engine.requestConversations({ campaignId, texterId: "t8" });
        await expectZoneFloorsBelowEveryUnassignedRow(campaignId);
        if (!r.ok || r.conversations.length === 0) break;
      }
    }
    const left = await f.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${f.schema}".conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank <= 2`, [campaignId]);
    expect(left.rows[0]!.n).toBe(0);
  });

  it("S4: rows of a closed zone released while another zone's claims move the floors come first when their zone opens", async () => {
    const campaignId = await campaign(900, 30, "r");
    at(SINGAPORE_OPEN);
    const singapore = await engine.requestConversations({ campaignId, texterId: "t0" });
    const ids = singapore.ok ? singapore.conversations.filter((c) => c.contactTimeZone === "Asia/Singapore").map((c) => c.id) : [];
    expect(ids.length).toBeGreaterThan(10);
    for (let i = 0; i < 3; i++) await engine.requestConversations({ campaignId, texterId: `t${6 + i}` }); // Singapore's floor moves past the first batch
    at(LONDON_OPEN);
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: ids });
    for (let i = 0; i < 5; i++) await engine.requestConversations({ campaignId, texterId: `t${1 + (i % 4)}` }); // London's claims delete the lowering rows
    await expectZoneFloorsBelowEveryUnassignedRow(campaignId);
    at(SINGAPORE_OPEN);
    const again = await engine.requestConversations({ campaignId, texterId: "t5" });
    expect(again.ok && again.conversations.filter((c) => c.contactTimeZone === "Asia/Singapore").map((c) => c.id).slice(0, ids.length)).toEqual(ids);
  });

  it("S4, I8: rows a claim locked and then rolled back, skipped by zoned claims that moved the floors meanwhile, come first", async () => {
    const campaignId = await campaign(900, 30, "l");
    at(LONDON_OPEN);
    await engine.requestConversations({ campaignId, texterId: "t0" });
    // Another server's claim locks London's next 10 unassigned rows (FOR UPDATE, as a hand-out does) ...
    const other = await f.pool.connect();
    try {
      await other.query("BEGIN");
      const locked = await other.query<{ seq: string }>(
        `SELECT seq FROM "${f.schema}".conversations WHERE campaign_id = $1 AND assignee IS NULL AND rank = 1 AND contact_tz = 'Europe/London'
         ORDER BY sort_key, seq LIMIT 10 FOR UPDATE`,
        [campaignId],
      );
      // ... while zoned claims skip them and move the zone floors, then it rolls back.
      for (let i = 0; i < 4; i++) await engine.requestConversations({ campaignId, texterId: `t${1 + i}` });
      await other.query("ROLLBACK");
      await expectZoneFloorsBelowEveryUnassignedRow(campaignId);
      const next = await engine.requestConversations({ campaignId, texterId: "t5" });
      const london = next.ok ? next.conversations.filter((c) => c.contactTimeZone === "Europe/London").map((c) => c.seq) : [];
      expect(london.slice(0, 10)).toEqual(locked.rows.map((r) => Number(r.seq)));
    } finally {
      other.release();
    }
  });

  it("S4: a hand-out that reads no zone range (replies only, or no zone closed) leaves the zone floors out: rows released before it still come first", async () => {
    const campaignId = await campaign(900, 30, "n");
    const ids = await releaseFirstBatchBelowTheFloors(campaignId);
    // A hand-out of replies only (none to take) raises the floor and deletes the lowering rows.
    const q = handOutQuery(`"${f.schema}"`, { campaignId, limit: 30, ranks: [0], openZones: null, to: { texter: "t9" }, now: clock.now() });
    await f.pool.query(q.text, q.values);
    expect((await f.pool.query(`SELECT count(*)::int AS n FROM "${f.schema}".pool_floor_lowers WHERE campaign_id = $1`, [campaignId])).rows[0].n).toBe(0);
    const again = await engine.requestConversations({ campaignId, texterId: "t5" });
    expect(again.ok && again.conversations.map((c) => c.id)).toEqual(ids);
  });

  it("S4: a raise by a process that predates the zone floors (it moves gen, deletes the lowering rows, keeps no zone) leaves them out until a raise keeps them", async () => {
    const campaignId = await campaign(900, 30, "o");
    const ids = await releaseFirstBatchBelowTheFloors(campaignId);
    // What migration 10's claim does when it raises (its floor is the start here, so it stays).
    await f.pool.query(`UPDATE "${f.schema}".pool_floors SET rank = -1, gen = gen + 1 WHERE campaign_id = $1`, [campaignId]);
    await f.pool.query(`DELETE FROM "${f.schema}".pool_floor_lowers WHERE campaign_id = $1`, [campaignId]);
    const again = await engine.requestConversations({ campaignId, texterId: "t5" });
    expect(again.ok && again.conversations.map((c) => c.id)).toEqual(ids);
    await expectZoneFloorsBelowEveryUnassignedRow(campaignId);
  });

  it("issue 12: on a zone drained since the last VACUUM, a zoned claim's range starts at the zone's floor: a few index pages, not the dead entries", async () => {
    const campaignId = await campaign(30_000, 100, "d");
    at(LONDON_OPEN);
    await f.pool.query(`VACUUM "${f.schema}".conversations`);
    // London's first 9,000 rows drained by one statement that leaves no unassigned row: no floor moves.
    await f.pool.query(`UPDATE "${f.schema}".conversations SET assignee = 'gone', assigned_at = 0 WHERE campaign_id = $1 AND contact_tz = 'Europe/London' AND seq < 27000`, [campaignId]);
    const londonScanBuffers = () =>
      handOutScanBuffers(f.pool, f.schema, { campaignId, limit: 100, ranks: [0, 1, 2], openZones: ["Europe/London"], to: { texter: "t0" }, now: clock.now() }, "conversations_pool_by_zone");
    const before = await londonScanBuffers(); // no zone floor yet: the scan walks 9,000 dead entries
    await engine.requestConversations({ campaignId, texterId: "t0" }); // moves London's floor past them
    const after = await londonScanBuffers();
    // Before: about 500 pages here. After: the range and the rows it hands out (13 to 15 pages, as the
    // heap pages the campaign's rows share with other tests' campaigns fall), far fewer.
    expect(before).toBeGreaterThan(100);
    expect(after).toBeLessThan(30);
    expect(after * 10).toBeLessThan(before);
  });
});

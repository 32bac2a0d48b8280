/**
 * PostgreSQL only: the readers of one process share numberings and recent facts (`fact-reads.ts`).
 * Many concurrent reads cost a few numberings and queries, each read still sees every fact that
 * committed before it began, and a read answered from memory equals the database's answer for the
 * same query, filters and prunes included.
 */
import * as fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EventType } from "../src/index.js";
import { createPostgresStorage } from "../src/postgres.js";
import type { PgPoolLike } from "../src/postgres/pg-like.js";
import { queryFacts } from "../src/postgres/sql/facts.js";
import { manualClock, uniqueId } from "./helpers.js";
import { numRuns } from "./numruns.js";
import { postgresFixture } from "./support/postgres.js";

type Fixture = Awaited<ReturnType<typeof postgresFixture>>;

/** A pool that counts numberings and fact reads sent through it. */
function countingPool(pool: pg.Pool) {
  const sent = { numberings: 0, reads: 0, factsFetched: 0 };
  const counting: PgPoolLike = {
    connect: () => pool.connect(),
    on: (event: "error", listener: (error: Error) => void) => pool.on(event, listener),
    query: ((text: unknown, values?: unknown) => {
      const sql = typeof text === "string" ? text : String((text as { text?: string }).text);
      if (sql.includes("number_events()")) sent.numberings++;
      else if (/FROM \S+\.events WHERE seq > \$1/.test(sql)) {
        sent.reads++;
        return pool.query(text as string, values as unknown[]).then((r) => {
          sent.factsFetched += r.rowCount ?? 0;
          return r;
        });
      }
      return pool.query(text as string, values as unknown[]);
    }) as PgPoolLike["query"],
  };
  return { counting, sent };
}

describe("PostgreSQL: the readers of one process share numberings and recent facts", () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await postgresFixture({ poolSize: 12 });
  });
  afterAll(async () => {
    await f?.close();
  });

  /** An adapter over a counting pool on the fixture's schema, and an engine writing through another server. */
  function setup() {
    const { counting, sent } = countingPool(f.pool);
    const storage = createPostgresStorage({ pool: counting, schema: f.schema, listen: false });
    const writer = createEngine({ storage: f.server().storage, clock: manualClock().now, generateId: (kind) => uniqueId(kind) });
    return { storage, sent, writer };
  }

  it("Events: 40 reads at once cost at most two numberings and two queries, and every read sees what committed before it began", async () => {
    const { storage, sent, writer } = setup();
    const org = await writer.createOrganization({ name: "Shared reads", ownerId: "owner" });
    const head = await storage.factHead!();
    for (let round = 0; round < 20; round++) {
      await writer.addMember({ actorId: "owner", orgId: org.id, userId: `m${round}`, role: "texter" });
      // Reads already in flight when the next write commits...
      const early = Array.from({ length: 20 }, () => storage.readFacts({ after: head, limit: 1000 }));
      await writer.addMember({ actorId: "owner", orgId: org.id, userId: `late${round}`, role: "texter" });
      // ...and reads that began after it: they must see it, whatever the early ones share.
      const before = { ...sent };
      const late = await Promise.all(Array.from({ length: 20 }, () => storage.readFacts({ after: head, limit: 1000 })));
      for (const page of late) expect(page.map((e) => (e.data as { userId?: string }).userId)).toContain(`late${round}`);
      for (const page of await Promise.all(early)) expect(page.map((e) => (e.data as { userId?: string }).userId)).toContain(`m${round}`);
      expect(sent.numberings - before.numberings).toBeLessThanOrEqual(2);
      expect(sent.reads - before.reads).toBeLessThanOrEqual(2);
    }
  }, 60_000);

  it("Events: pollers at different positions inside the kept range fetch each new fact once, not again from their own positions", async () => {
    const { storage, sent, writer } = setup();
    const org = await writer.createOrganization({ name: "Pollers", ownerId: "owner" });
    const head = await storage.factHead!();
    const positions = Array.from({ length: 5 }, () => head);
    let written = 0;
    const before = { ...sent };
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++, written++) await writer.addMember({ actorId: "owner", orgId: org.id, userId: `w${round}-${i}`, role: "texter" });
      // One poller per round is behind the others (it skipped a round), as pollers on their own timers are.
      for (let p = 0; p < positions.length; p++) {
        if ((round + p) % positions.length === 0 && round < 9) continue;
        const page = await storage.readFacts({ after: positions[p]!, limit: 1000, orgId: org.id });
        expect(page.map((e) => e.seq)).toEqual(Array.from({ length: page.length }, (_, k) => positions[p]! + 1 + k));
        positions[p] = page.at(-1)?.seq ?? positions[p]!;
      }
    }
    expect(positions).toEqual(positions.map(() => head + written));
    expect(sent.factsFetched - before.factsFetched).toBe(written);
  });

  it("Events: a read answered from memory equals the database's answer — any position, limit and filter, with writes and prunes between reads", async () => {
    const { storage, writer } = setup();
    const orgs = [await writer.createOrganization({ name: "A", ownerId: "owner" }), await writer.createOrganization({ name: "B", ownerId: "owner" })];
    const campaigns = await Promise.all(orgs.map((o) => writer.createCampaign({ actorId: "owner", orgId: o.id, title: "C" })));
    const types: EventType[] = ["organization.member_added", "campaign.created", "campaign.settings_changed"];
    let n = 0;
    const step = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), org: fc.integer({ min: 0, max: 1 }), count: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        kind: fc.constant("read" as const),
        back: fc.integer({ min: -2, max: 30 }),
        limit: fc.integer({ min: 1, max: 25 }),
        filter: fc.constantFrom("none", "org", "campaign", "types"),
        which: fc.integer({ min: 0, max: 1 }),
      }),
      fc.record({ kind: fc.constant("prune" as const), back: fc.integer({ min: 5, max: 40 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        for (const s of steps) {
          if (s.kind === "write") {
            for (let i = 0; i < s.count; i++) {
              if (i % 2 === 0) await writer.addMember({ actorId: "owner", orgId: orgs[s.org]!.id, userId: `u${++n}`, role: "texter" });
              else await writer.updateCampaignSettings({ actorId: "owner", campaignId: campaigns[s.org]!.id, batchSize: 1 + (++n % 50) });
            }
          } else {
            const head = await storage.factHead!();
            if (s.kind === "prune") {
              await storage.pruneFacts!(Math.max(0, head - s.back));
              continue;
            }
            const query = {
              after: Math.max(0, head - s.back),
              limit: s.limit,
              ...(s.filter === "org" ? { orgId: orgs[s.which]!.id } : {}),
              ...(s.filter === "campaign" ? { campaignId: campaigns[s.which]!.id } : {}),
              ...(s.filter === "types" ? { types: types.slice(s.which) } : {}),
            };
            const got = await storage.readFacts(query);
            // What the database holds up to the head this read saw (another read may number more meanwhile: none here).
            const expected = await queryFacts(f.pool, `"${f.schema}"`, query);
            expect(got).toEqual(expected);
          }
        }
      }),
      { numRuns: numRuns(40) },
    );
  }, 120_000);

  it("Events: a prune inside a host's transaction — reads kept in memory meanwhile never bring the pruned facts back after it commits", async () => {
    const { storage, writer } = setup();
    const org = await writer.createOrganization({ name: "Pruned", ownerId: "owner" });
    for (let i = 0; i < 10; i++) await writer.addMember({ actorId: "owner", orgId: org.id, userId: `p${i}`, role: "texter" });
    const head = await storage.factHead!();
    const from = head - 10;
    expect(await storage.readFacts({ after: from, limit: 100 })).toHaveLength(10); // kept in memory now
    const client = await f.pool.connect();
    try {
      await client.query("BEGIN");
      await storage.withClient(client).pruneFacts!(head - 5);
      // Outside the transaction the facts are still there, and a read sees them.
      expect(await storage.readFacts({ after: from, limit: 100 })).toHaveLength(10);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const after = await storage.readFacts({ after: from, limit: 100 });
    expect(after).toEqual(await queryFacts(f.pool, `"${f.schema}"`, { after: from, limit: 100 }));
    expect(after.map((e) => e.seq)).toEqual([head - 4, head - 3, head - 2, head - 1, head]);
  });

  it("Events: facts kept in memory are frozen, so one reader cannot change what another reads", async () => {
    const { storage, writer } = setup();
    const org = await writer.createOrganization({ name: "Frozen", ownerId: "owner" });
    await writer.addMember({ actorId: "owner", orgId: org.id, userId: "m", role: "texter" });
    const [first] = await storage.readFacts({ after: 0, limit: 1, orgId: org.id });
    const page = await storage.readFacts({ after: (await storage.factHead!()) - 1, limit: 10 });
    for (const e of [first!, ...page]) {
      expect(Object.isFrozen(e)).toBe(true);
      expect(Object.isFrozen(e.data)).toBe(true);
      expect(() => {
        (e as { type: string }).type = "changed";
      }).toThrow(TypeError);
    }
  });
});



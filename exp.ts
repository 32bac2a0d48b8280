import pg from "pg";
import { createEngine } from "./src/index.js";
import { createPostgresStorage } from "./src/postgres.js";
import { claimStatement } from "./src/postgres/sql/claim.js";
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
await pool.query("DROP SCHEMA IF EXISTS exp CASCADE");
const storage = createPostgresStorage({ pool, schema: "exp" });
await storage.migrate();
const engine = createEngine({ storage });
const org = await engine.createOrganization({ name: "o", ownerId: "a" });
const c = await engine.createCampaign({ actorId: "a", orgId: org.id, title: "t" });
for (let s = 0; s < 200000; s += 100000) await engine.importContacts({ actorId: "a", campaignId: c.id, contacts: Array.from({ length: 100000 }, (_, i) => ({ contactId: `c${s + i}` })) });
await pool.query("VACUUM ANALYZE exp.conversations");
const explain = async () => {
  const r = await pool.query("EXPLAIN (ANALYZE, BUFFERS) " + claimStatement("exp", 300).replace("UPDATE", "UPDATE"), [c.id, "x", 1]);
  console.log(r.rows.map((x) => x["QUERY PLAN"]).join("\n"));
};
await explain();
// concurrency: 8 workers, 100 claims each
const t = performance.now();
await Promise.all(Array.from({ length: 8 }, async (_, w) => { for (let i = 0; i < 50; i++) await pool.query(claimStatement("exp", 300), [c.id, `w${w}`, 1]); }));
console.log("8x50 claims", (performance.now() - t).toFixed(0), "ms");
await explain();
const t2 = performance.now();
for (let i = 0; i < 100; i++) await pool.query(claimStatement("exp", 300), [c.id, `w`, 1]);
console.log("1x100 claims", (performance.now() - t2).toFixed(0), "ms");
await pool.end();

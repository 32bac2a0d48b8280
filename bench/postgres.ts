/**
 * `npm run bench:postgres`: the PostgreSQL adapter, side by side with its baselines, in one run on one
 * server (a throwaway one with fsync off unless DATABASE_URL is set), writing
 *   - bench/results/postgres.json       claims vs the reference statement and naive baselines (issue 12),
 *   - bench/results/postgres-org.json   invite rush, organization size, admin at peak (issue 9),
 *   - bench/results/postgres-host.json  listings, event pollers, tracing (issue 11),
 * then docs/benchmarks.md from every result file. Not part of `npm test`.
 *
 * Knobs (environment): BENCH_CONTACTS (1,000,000: the big campaign), BENCH_ROUNDS (3),
 * BENCH_PG_REQUESTS (400 per timed run), BENCH_SECTIONS (claims,org,host). A quicker local run:
 * `BENCH_CONTACTS=200000 BENCH_ROUNDS=1 BENCH_PG_REQUESTS=200 npm run bench:postgres` (a few minutes;
 * its figures are not the documented ones). The full run takes about half an hour on 2 cores.
 */
import { writeDocs } from "./docs.js";
import { openBench } from "./lib/pg.js";
import { printTargets, writeReport } from "./lib/report.js";
import { runClaims } from "./postgres-claims.js";
import { runHost } from "./postgres-host.js";
import { runOrg } from "./postgres-org.js";

const SECTIONS = (process.env.BENCH_SECTIONS ?? "claims,org,host").split(",").map((s) => s.trim());

async function main() {
  const bench = await openBench();
  try {
    for (const [name, file, run] of [
      ["claims", "postgres", runClaims],
      ["org", "postgres-org", runOrg],
      ["host", "postgres-host", runHost],
    ] as const) {
      if (!SECTIONS.includes(name)) continue;
      const report = await run(bench);
      printTargets(report.targets);
      console.log(`written ${writeReport(file, report)}`);
    }
  } finally {
    await bench.close();
  }
  console.log(`written ${writeDocs()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * What a host application needs (issue 11):
 *   - an admin's listing page of 100 at 1M conversations vs at 10,000 (`listConversations`,
 *     unassigned and by holder, first page and a page deep in the list);
 *   - 10 event pollers reading every 100 ms (another adapter with its own pool, as another app server) vs none, while 8
 *     requesters claim: claim throughput;
 *   - tracing (`node:diagnostics_channel`) when nobody subscribes to a request's channel: request
 *     latency with subscribers elsewhere vs none at all (and, for scale, subscribed to it), on the
 *     in-memory adapter, where a microsecond per call would show.
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { createEngine, type Engine } from "../src/index.js";
import { createMemoryStorage } from "../src/memory.js";
import { type Bench, CONTACTS, REQUESTS, ROUNDS, SCHEMA, campaign, engineClaim, logRun, medianRun, otherServer, timedRun, unassign, type Run } from "./lib/pg.js";
import { type Report, type Table, type Target, machine, median, pct, target } from "./lib/report.js";

const LISTINGS = ["unassigned, first page", "unassigned, page 51", "by holder, first page", "by holder, page 6", "any holder, first page"] as const;

/** The cursor after `pages` pages of a listing. */
async function cursorAfter(engine: Engine, input: Parameters<Engine["listConversations"]>[0], pages: number): Promise<string | null> {
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) cursor = (await engine.listConversations({ ...input, cursor })).cursor;
  return cursor;
}

/** The listing inputs of a campaign: each page as an admin asks for it (deep pages by the cursor of the one before). */
async function listingInputs(engine: Engine, campaignId: string): Promise<Record<(typeof LISTINGS)[number], Parameters<Engine["listConversations"]>[0]>> {
  const base = { actorId: "admin", campaignId, limit: 100 };
  return {
    "unassigned, first page": { ...base, assigneeId: null },
    "unassigned, page 51": { ...base, assigneeId: null, cursor: await cursorAfter(engine, { ...base, assigneeId: null }, 50) },
    "by holder, first page": { ...base, assigneeId: "lister" },
    "by holder, page 6": { ...base, assigneeId: "lister", cursor: await cursorAfter(engine, { ...base, assigneeId: "lister" }, 5) },
    "any holder, first page": base,
  };
}

/**
 * p50 (ms) of `n` reads of each listing page on two campaigns, the reads of the two alternating (so
 * the load of a shared machine falls on both alike).
 */
async function listingTimes(engine: Engine, big: string, small: string, n: number) {
  const inputs = { big: await listingInputs(engine, big), small: await listingInputs(engine, small) };
  const out = { big: {} as Record<string, number>, small: {} as Record<string, number> };
  for (const name of LISTINGS) {
    const times = { big: [] as number[], small: [] as number[] };
    for (let i = -5; i < n; i++) {
      for (const which of ["big", "small"] as const) {
        const t0 = performance.now();
        const page = await engine.listConversations(inputs[which][name]);
        if (i >= 0) times[which].push(performance.now() - t0);
        if (page.items.length !== 100) throw new Error(`listing "${name}" returned ${page.items.length} rows`);
      }
    }
    out.big[name] = pct(times.big.sort((a, b) => a - b), 50);
    out.small[name] = pct(times.small.sort((a, b) => a - b), 50);
  }
  return out;
}

/** `count` pollers reading the event log every 100 ms, each from its own position, until stopped. */
function pollers(engine: Engine, count: number, head: number) {
  let stop = false;
  let reads = 0;
  const loops = Array.from({ length: count }, async () => {
    let after = head;
    while (!stop) {
      const events = await engine.readEvents({ after, limit: 1000 });
      reads++;
      if (events.length > 0) after = events[events.length - 1]!.seq;
      await new Promise((res) => setTimeout(res, 100));
    }
  });
  return {
    async stop() {
      stop = true;
      await Promise.all(loops);
      return reads;
    },
  };
}

/** Times (ms) of `n` in-memory requests, each batch handed back (untimed). */
async function memoryRequests(engine: Engine, campaignId: string, texters: readonly string[], n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await engine.requestConversations({ campaignId, texterId: texters[i % texters.length]! });
    into.push(performance.now() - t0);
    if (!r.ok) throw new Error("tracing benchmark: request refused");
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
  }
}

/**
 * Tracing cost: nobody subscribed, subscribers on other channels, subscribed to the request's own
 * channel — alternating every 100 requests, so the machine's load falls on all three alike. Returns
 * each one's p50 per round (ms).
 */
async function tracing(): Promise<{ none: number[]; elsewhere: number[]; own: number[] }> {
  const engine = createEngine({ storage: createMemoryStorage({ maxEvents: 1000 }) });
  const org = await engine.createOrganization({ name: "Tracing", ownerId: "admin" });
  const texters = ["a", "b", "c", "d"];
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: texters.map((userId) => ({ userId, role: "texter" as const })) });
  const c = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Tracing" });
  await engine.importContacts({ actorId: "admin", campaignId: c.id, contacts: Array.from({ length: 100_000 }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: c.id, enabled: true, batchSize: 300, gate: "none", textingHoursStart: "00:00", textingHoursEnd: "24:00" });
  await engine.launchCampaign({ actorId: "admin", campaignId: c.id });
  await engine.addSenders({ actorId: "admin", campaignId: c.id, userIds: texters });
  const noop = () => undefined;
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const other = tracingChannel("selfassign:getOverview");
  const own = tracingChannel("selfassign:requestConversations");
  const variants = {
    none: { on: noop, off: noop },
    elsewhere: {
      on: () => (other.subscribe(handlers), subscribe("selfassign:retry", noop)),
      off: () => (other.unsubscribe(handlers), unsubscribe("selfassign:retry", noop)),
    },
    own: { on: () => own.subscribe(handlers), off: () => own.unsubscribe(handlers) },
  };
  await memoryRequests(engine, c.id, texters, 500, []); // warm-up
  const out = { none: [] as number[], elsewhere: [] as number[], own: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const times = { none: [] as number[], elsewhere: [] as number[], own: [] as number[] };
    for (let block = 0; block < 20; block++) {
      for (const name of ["none", "elsewhere", "own"] as const) {
        variants[name].on();
        await memoryRequests(engine, c.id, texters, 100, times[name]);
        variants[name].off();
      }
    }
    for (const name of ["none", "elsewhere", "own"] as const) out[name].push(pct(times[name].sort((a, b) => a - b), 50));
  }
  return out;
}

/** The issue-11 report (bench/results/postgres-host.json). */
export async function runHost(bench: Bench): Promise<Report> {
  const started = performance.now();
  const m = machine(bench.postgresVersion);
  const { engine, pool, orgId, texters } = bench;

  // Listings: the big campaign and one of 10,000; "lister" holds 1,000 in each.
  await engine.addMember({ actorId: "admin", orgId, userId: "lister", role: "texter" });
  const small = await campaign(engine, orgId, "list-10k", 10_000, ["lister"]);
  await engine.addSenders({ actorId: "admin", campaignId: bench.campaignId, userIds: ["lister"] });
  await unassign(pool, "conversations", bench.campaignId);
  for (const id of [bench.campaignId, small]) await engine.reassignSome({ actorId: "admin", campaignId: id, from: "unassigned", filter: "any", count: 1000, to: ["lister"] });
  await pool.query(`VACUUM ANALYZE ${SCHEMA}.conversations`);
  const listing = { big: [] as Record<string, number>[], small: [] as Record<string, number>[] };
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await listingTimes(engine, bench.campaignId, small, 100);
    listing.big.push(r.big);
    listing.small.push(r.small);
    console.log(`round ${round}: listing p50 at ${CONTACTS.toLocaleString("en-US")}: ${JSON.stringify(listing.big.at(-1))}; at 10,000: ${JSON.stringify(listing.small.at(-1))}`);
  }
  const list = (which: "big" | "small", name: string) => median(listing[which].map((r) => r[name]!));
  await unassign(pool, "conversations", bench.campaignId);

  // Event pollers while 8 requesters claim.
  const readers = otherServer(bench, 4).engine;
  const claim = engineClaim(engine, bench.campaignId);
  const raw: Run[] = [];
  let reads = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const withPollers of [false, true]) {
      await unassign(pool, "conversations", bench.campaignId);
      const p = withPollers ? pollers(readers, 10, await readers.getEventHead()) : null;
      // Three times the usual requests per run: a 2 s run on a shared machine varied ±15% between runs.
      const run = await timedRun(withPollers ? "8 requesters, 10 event pollers" : "8 requesters, no pollers", claim, 8, 3 * REQUESTS, texters);
      if (p !== null) reads += await p.stop();
      logRun(round, run);
      raw.push(run);
    }
  }
  await unassign(pool, "conversations", bench.campaignId);
  const aloneRuns = raw.filter((r) => r.mode.endsWith("no pollers"));
  const polledRuns = raw.filter((r) => r.mode.endsWith("event pollers"));
  const alone = medianRun(aloneRuns);
  const polled = medianRun(polledRuns);
  // A round runs the two back to back: its ratio compares them in the same phase of a shared machine.
  const pollerRatios = polledRuns.map((r, i) => r.conversationsPerS / aloneRuns[i]!.conversationsPerS);

  const t = await tracing();
  console.log(`tracing p50 (ms): none ${t.none.map((x) => x.toFixed(3))}, elsewhere ${t.elsewhere.map((x) => x.toFixed(3))}, own ${t.own.map((x) => x.toFixed(3))}`);

  const targets: Target[] = [
    ...LISTINGS.slice(0, 4).map((name) =>
      target(`listConversations p50 at ${CONTACTS.toLocaleString("en-US")} / at 10,000: ${name}`, list("big", name) / list("small", name), "<= 1.5", { source: "issue 11", unit: "x" }),
    ),
    target("claim throughput with 10 event pollers / without (8 requesters)", median(pollerRatios), ">= 0.95", { source: "issue 11", unit: "x" }),
    target("request p50, subscribers on other channels / none (in memory)", median(t.elsewhere.map((x, i) => x / t.none[i]!)), "<= 1.05", { source: "issue 11", unit: "x" }),
  ];
  const tables: Table[] = [
    {
      title: "Admin listing, page of 100 (p50 ms; \"lister\" holds 1,000 in each campaign)",
      columns: ["listing", `${CONTACTS.toLocaleString("en-US")} conversations`, "10,000 conversations", "ratio"],
      rows: LISTINGS.map((name) => [name, list("big", name), list("small", name), list("big", name) / list("small", name)]),
      note: "Unassigned and by holder read one index range from the cursor on; \"any holder\" merges the unassigned range with one range per holder (a page at most each; the holders read from the count rows).",
    },
    {
      title: "Event pollers (another adapter with its own pool of 4, in the same Node process) while 8 requesters claim",
      columns: ["mode", "requesters", "conversations/s", "p50 ms", "p99 ms", "mean batch", "full batches %"],
      rows: [alone, polled].map((r) => [r.mode, r.requesters, Math.round(r.conversationsPerS), r.p50, r.p99, Math.round(r.meanBatch), Math.round(r.fullShare * 100)]),
      note: `${reads.toLocaleString("en-US")} reads by the pollers in all. Throughput with pollers / without, round by round: ${pollerRatios.map((x) => x.toFixed(3)).join(", ")}; the target's figure is their median.`,
    },
    {
      title: "Tracing (diagnostics_channel), in-memory requests on a 100,000 pool, p50 µs",
      columns: ["subscribers", "p50 µs (median of rounds)", "ratio of the medians to none"],
      note: `The target's figure is the median of the per-round ratios (other channels / none: ${t.elsewhere.map((x, i) => (x / t.none[i]!).toFixed(3)).join(", ")}).`,
      rows: [
        ["none", median(t.none) * 1000, 1],
        ["on other channels only", median(t.elsewhere) * 1000, median(t.elsewhere) / median(t.none)],
        ["on selfassign:requestConversations", median(t.own) * 1000, median(t.own) / median(t.none)],
      ],
    },
  ];
  return {
    title: "PostgreSQL: what a host needs (issue 11)",
    command: "npm run bench:postgres",
    date: new Date().toISOString(),
    machine: m,
    load: `listings on the big campaign (${CONTACTS.toLocaleString("en-US")}) and one of 10,000; claims on the big campaign with and without pollers (${3 * REQUESTS} requests per run); tracing on the in-memory adapter, 2,000 requests per variant and round, alternating every 100.`,
    rounds: ROUNDS,
    seconds: (performance.now() - started) / 1000,
    tables,
    targets,
    raw: { listing, pollers: raw, pollerReads: reads, tracing: t },
  };
}

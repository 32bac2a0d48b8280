/**
 * What a host application needs (issue 11):
 *   - an admin's listing page of 100 at 1M conversations vs at 10,000 (`listConversations`,
 *     unassigned and by holder, first page and a page deep in the list);
 *   - 10 event pollers reading every 100 ms (another adapter with its own pool, as another app server) vs none, while 8
 *     requesters claim: claim throughput, the pollers switched on and off in segments of one run;
 *   - tracing (`node:diagnostics_channel`) when nobody subscribes to a request's channel: request
 *     latency with subscribers elsewhere vs none at all (and, for scale, subscribed to it), on the
 *     in-memory adapter, where a microsecond per call would show.
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { createEngine, type Engine } from "../src/index.js";
import { createMemoryStorage } from "../src/memory.js";
import { BATCH, type Bench, CONTACTS, REQUESTS, ROUNDS, SCHEMA, campaign, engineClaim, logRun, medianRun, otherServer, runOf, unassign, type Run } from "./lib/pg.js";
import { roundRatios } from "./lib/side-by-side.js";
import { type Report, type Table, type Target, machine, median, pct, target } from "./lib/report.js";

/** Requests of a pollers round: at most what 60% of the campaign holds, at most 2,400. */
const POLLED_REQUESTS = Math.min(6 * REQUESTS, Math.floor((0.6 * CONTACTS) / BATCH));

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

/**
 * `count` pollers reading the event log every 100 ms, each from its own position, while switched on
 * (`on()`): switched off, they read nothing, and switched on they read at once (then every 100 ms).
 */
function pollers(engine: Engine, count: number, head: number) {
  let stop = false;
  let active = false;
  let reads = 0;
  let wake: (() => void)[] = [];
  const nap = (ms: number) =>
    new Promise<void>((res) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = wake.filter((w) => w !== done);
        res();
      }
      wake.push(done);
    });
  const loops = Array.from({ length: count }, async () => {
    let after = head;
    while (!stop) {
      if (active) {
        const events = await engine.readEvents({ after, limit: 1000 });
        reads++;
        if (events.length > 0) after = events[events.length - 1]!.seq;
      }
      await nap(active ? 100 : 1_000);
    }
  });
  const wakeAll = () => [...wake].forEach((w) => w());
  return {
    on() {
      active = true;
      wakeAll();
    },
    off() {
      active = false;
    },
    async stop() {
      stop = true;
      wakeAll();
      await Promise.all(loops);
      return reads;
    },
  };
}

/** Requests per segment of {@link polledRound}: about half a second of claims at 8 requesters. */
const SEGMENT = 150;

/** The segments' length in a round of `requests`: {@link SEGMENT}, or shorter so a small run (BENCH_CONTACTS) still has four. */
const segmentSize = (requests: number) => Math.max(1, Math.floor(requests / Math.max(4, Math.floor(requests / SEGMENT))));

/**
 * One round of 8 requesters claiming without a break while the pollers are switched off and on every
 * {@link SEGMENT} requests or fewer (off, on, on, off, off, on, …: a drift of the machine's speed falls on both
 * alike). A request counts for the segment in which it ends; a segment's throughput is what its
 * requests claimed over its length. Runs of each mode one after another (4 s each) gave ratios from
 * 0.80 to 0.97 in one benchmark; the pollers' own cost, measured by CPU time, is a few percent.
 */
async function polledRound(claim: (texter: string) => Promise<number>, p: ReturnType<typeof pollers>, texters: readonly string[], requests: number): Promise<[Run, Run]> {
  const segments = Math.max(4, Math.floor(requests / SEGMENT));
  const size = segmentSize(requests);
  const withPollers = (k: number) => k % 4 === 1 || k % 4 === 2;
  const took = { alone: { times: [] as number[], sizes: [] as number[], ms: 0 }, polled: { times: [] as number[], sizes: [] as number[], ms: 0 } };
  let segment = 0;
  let segmentStart = performance.now();
  let issued = 0;
  const current = () => (withPollers(segment) ? took.polled : took.alone);
  const next = () => {
    const now = performance.now();
    current().ms += now - segmentStart;
    segmentStart = now;
    segment++;
    if (withPollers(segment)) p.on();
    else p.off();
  };
  p.off();
  await Promise.all(
    texters.slice(0, 8).map(async (t) => {
      while (issued < segments * size) {
        issued++;
        const s = performance.now();
        const n = await claim(t);
        const into = current();
        into.times.push(performance.now() - s);
        into.sizes.push(n);
        if (issued >= (segment + 1) * size && segment < segments - 1) next();
      }
    }),
  );
  current().ms += performance.now() - segmentStart;
  p.off();
  const run = (mode: string, x: typeof took.alone): Run => runOf(mode, 8, x.times, x.sizes, x.ms / 1000);
  return [run("8 requesters, no pollers", took.alone), run("8 requesters, 10 event pollers", took.polled)];
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

  // Event pollers while 8 requesters claim: switched on and off in segments of one run per round.
  const readers = otherServer(bench, 4).engine;
  const claim = engineClaim(engine, bench.campaignId);
  const raw: Run[] = [];
  const p = pollers(readers, 10, await readers.getEventHead());
  for (let round = 1; round <= ROUNDS; round++) {
    await unassign(pool, "conversations", bench.campaignId);
    for (const run of await polledRound(claim, p, texters, POLLED_REQUESTS)) {
      logRun(round, run);
      raw.push(run);
    }
  }
  const reads = await p.stop();
  await unassign(pool, "conversations", bench.campaignId);
  const aloneRuns = raw.filter((r) => r.mode.endsWith("no pollers"));
  const polledRuns = raw.filter((r) => r.mode.endsWith("event pollers"));
  const alone = medianRun(aloneRuns);
  const polled = medianRun(polledRuns);
  const pollerRatios = roundRatios(polledRuns, aloneRuns, (r) => r.conversationsPerS);

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
      note: `Each round is one run of ${POLLED_REQUESTS.toLocaleString("en-US")} requests, the pollers switched off and on every ${segmentSize(POLLED_REQUESTS)} (off, on, on, off, …); a request counts for the segment it ends in. ${reads.toLocaleString("en-US")} reads by the pollers in all. Throughput with pollers / without, round by round: ${pollerRatios.map((x) => x.toFixed(3)).join(", ")}; the target's figure is their median.`,
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
    load: `listings on the big campaign (${CONTACTS.toLocaleString("en-US")}) and one of 10,000; claims on the big campaign with pollers switched on and off (${POLLED_REQUESTS} requests per round); tracing on the in-memory adapter, 2,000 requests per variant and round, alternating every 100.`,
    rounds: ROUNDS,
    seconds: (performance.now() - started) / 1000,
    tables,
    targets,
    raw: { listing, pollers: raw, pollerReads: reads, tracing: t },
  };
}

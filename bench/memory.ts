/**
 * In-memory adapter benchmark (`npm run bench`). One run, side by side, in interleaved rounds (medians);
 * the two cases of each ratio alternate request by request (`sideBySide`), and a ratio is the median of
 * the per-round ratios:
 * - request latency (p50, p99) for batch 300 at 10,000 and at 1,000,000 conversations, and where the
 *   p99 comes from: the young-generation GC pauses (`PerformanceObserver` "gc" entries) that overlap
 *   the slowest requests;
 * - the same request on a naive baseline (filter and sort the pool per request) at both sizes;
 * - memory per conversation at 1,000,000: JS heap plus typed-array buffers, measured around the import.
 * - T2: p50 at 1,000,000 with half the contacts outside texting hours vs all inside.
 * - T4: `idleCutoff` for a 30-day limit versus the minute-by-minute walk it replaced.
 * - Organization size (sets are rows): request p50 with 10,000 members who are all senders vs 10;
 *   the cost of one `addMember` at 10,000 members vs at 100.
 * Targets: p50(1M) / p50(10k) ≤ 1.5; p99 at 1M ≤ 0.5 ms with default Node flags (issue 12);
 * naive p50(1M) / ours p50(1M) ≥ 100; < 200 bytes per conversation; half outside / all inside ≤ 1.5;
 * minute walk / idleCutoff ≥ 100; request p50 with 10,000 senders / with 10 ≤ 1.2; addMember at
 * 10,000 / at 100 ≤ 1.5. Writes bench/results/memory.json, then docs/benchmarks.md.
 *
 * Run: npm run bench  (needs --expose-gc for the memory figure, which the script passes; BENCH_ROUNDS, BENCH_REQUESTS)
 */
import { PerformanceObserver, constants as perf } from "node:perf_hooks";
import { createEngine } from "../src/index.js";
import { MAX_IDLE_MS, idleCutoff, localMinutes, parseClock } from "../src/core/time.js";
import type { CampaignSchedule } from "../src/types.js";
import { createMemoryStorage } from "../src/memory.js";
import { writeDocs } from "./docs.js";
import { type Table, knob, machine, median, printTargets, target, writeReport } from "./lib/report.js";
import { type Sample, type Step, pairedRatio, sideBySide, timed } from "./lib/side-by-side.js";

const p50 = (r: { p50: number }) => r.p50;

const BATCH = 300;
// 1,000 per round: a p99 of 200 samples is their second slowest, so one or two collections decide it.
const REQUESTS = knob("BENCH_REQUESTS", 1000);
const ROUNDS = knob("BENCH_ROUNDS", 3);
const gc = (globalThis as { gc?: () => void }).gc;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** JS heap plus ArrayBuffer memory (the adapter's typed-array columns live outside the JS heap). */
function heapUsed(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function buildCampaign(size: number, texters: number) {
  const storage = createMemoryStorage({ maxEvents: 1000 });
  const engine = createEngine({ storage });
  const org = await engine.createOrganization({ name: "Bench", ownerId: "admin" });
  const users = Array.from({ length: texters }, (_, i) => `texter-${i}`);
  for (const u of users) await engine.addMember({ actorId: "admin", orgId: org.id, userId: u, role: "texter" });
  const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Bench" });
  const heapBefore = heapUsed();
  const chunk = 100_000;
  for (let start = 0; start < size; start += chunk) {
    const contacts = [];
    for (let i = start; i < Math.min(size, start + chunk); i++) contacts.push({ contactId: `c${i}` });
    await engine.importContacts({ actorId: "admin", campaignId: campaign.id, contacts });
  }
  const heapAfter = heapUsed();
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: campaign.id, enabled: true, batchSize: BATCH, gate: "none", textingHoursStart: "00:00", textingHoursEnd: "24:00" });
  await engine.launchCampaign({ actorId: "admin", campaignId: campaign.id });
  await engine.addSenders({ actorId: "admin", campaignId: campaign.id, userIds: users });
  return { engine, campaignId: campaign.id, users, bytesPerConversation: (heapAfter - heapBefore) / size };
}

/** Garbage collections seen by a `PerformanceObserver` while `run` runs: start, duration (ms) and kind. */
async function withGcLog<T>(run: () => Promise<T>): Promise<{ result: T; gcs: { start: number; duration: number; minor: boolean }[] }> {
  const gcs: { start: number; duration: number; minor: boolean }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, duration: e.duration, minor: ((e as { detail?: { kind?: number } }).detail)?.kind === perf.NODE_PERFORMANCE_GC_MINOR });
  });
  observer.observe({ entryTypes: ["gc"] });
  const result = await run();
  await new Promise((resolve) => setTimeout(resolve, 50)); // the observer hears of collections on a later turn
  observer.disconnect();
  return { result, gcs };
}

type Built = Awaited<ReturnType<typeof buildCampaign>>;

function latency(samples: readonly Sample[]) {
  const times = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** A request on a built campaign; the batch is handed back (untimed) so the pool stays full for every request. */
function engineStep({ engine, campaignId, users }: Built): Step {
  return async (i) => {
    const texterId = users[(i + 20) % users.length]!;
    let r!: Awaited<ReturnType<typeof engine.requestConversations>>;
    const s = await timed(async () => (r = await engine.requestConversations({ campaignId, texterId })));
    if (!r.ok || r.conversations.length !== BATCH) throw new Error("benchmark request did not get a full batch");
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
    return s;
  };
}

/**
 * Latency of the 10k and the 1M pool, measured side by side, and for each which requests a GC pause
 * overlapped. Collections are process-wide: both pools' requests allocate into the same young generation.
 */
async function measureEngines(small: Built, large: Built) {
  const { result, gcs } = await withGcLog(() => sideBySide([engineStep(small), engineStep(large)], REQUESTS, 20));
  const overlaps = (s: Sample) => gcs.some((g) => g.start < s.end && g.start + g.duration > s.start);
  const all = result.flat();
  const first = Math.min(...all.map((s) => s.start));
  const last = Math.max(...all.map((s) => s.end));
  const during = gcs.filter((g) => g.start >= first && g.start <= last);
  const minor = during.filter((g) => g.minor);
  const stats = (samples: Sample[]) => {
    const clean = samples.filter((s) => !overlaps(s));
    const slowest = [...samples].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, Math.max(1, Math.ceil(samples.length / 100)));
    return {
      ...latency(samples),
      p99WithoutGc: latency(clean).p99,
      slowestWithGc: slowest.filter(overlaps).length / slowest.length,
      minorGcs: minor.length,
      otherGcs: during.length - minor.length,
      meanMinorGcMs: minor.reduce((n, g) => n + g.duration, 0) / Math.max(1, minor.length),
    };
  };
  return { small: stats(result[0]!), large: stats(result[1]!) };
}

async function prepareEngine(size: number): Promise<Built> {
  const built = await buildCampaign(size, 4);
  const { engine, campaignId } = built;
  // Some replies scattered through the pool so the needs-reply bucket is exercised.
  for (let i = 0; i < 200; i++) {
    const id = `${campaignId}:${Math.floor((i * size) / 200)}`;
    await engine.recordInitialSent({ conversationId: id });
    await engine.recordContactReply({ conversationId: id });
  }
  return built;
}

/** The naive baseline: conversations as objects in an array; each request filters and sorts the pool. */
function measureNaive(size: number, requests: number) {
  type Row = { id: number; status: number; holder: string | null; replyAt: number };
  const pool: Row[] = [];
  for (let i = 0; i < size; i++) pool.push({ id: i, status: 1, holder: null, replyAt: 0 });
  for (let i = 0; i < 200; i++) {
    const row = pool[Math.floor((i * size) / 200)]!;
    row.status = 0;
    row.replyAt = i;
  }
  const times: number[] = [];
  for (let r = 0; r < requests; r++) {
    const t0 = performance.now();
    const candidates = pool
      .filter((c) => c.holder === null && c.status <= 2)
      .sort((a, b) => a.status - b.status || a.replyAt - b.replyAt || a.id - b.id);
    for (const c of candidates.slice(0, BATCH)) c.holder = `texter-${r}`;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/**
 * T2: request latency on a 1,000,000 pool of not-started conversations where every contact is inside
 * texting hours, versus one where every other contact is outside (their zone is 14 hours ahead).
 */
async function prepareZones(size: number, halfOutside: boolean) {
  // 10:00 in Chicago, 00:00 in Singapore.
  const now = Date.UTC(2026, 10, 3, 16, 0);
  const storage = createMemoryStorage({ maxEvents: 1000 });
  const engine = createEngine({ storage, clock: () => now });
  const org = await engine.createOrganization({ name: "Zones", ownerId: "admin" });
  for (const u of ["z1", "z2"]) await engine.addMember({ actorId: "admin", orgId: org.id, userId: u, role: "texter" });
  const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Zones" });
  for (let start = 0; start < size; start += 100_000) {
    const contacts = [];
    for (let i = start; i < Math.min(size, start + 100_000); i++) {
      contacts.push({ contactId: `c${i}`, timeZone: halfOutside && i % 2 === 1 ? "Asia/Singapore" : "America/Chicago" });
    }
    await engine.importContacts({ actorId: "admin", campaignId: campaign.id, contacts });
  }
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: campaign.id, enabled: true, batchSize: BATCH, gate: "none", timeZone: "America/Chicago" });
  await engine.launchCampaign({ actorId: "admin", campaignId: campaign.id });
  await engine.addSenders({ actorId: "admin", campaignId: campaign.id, userIds: ["z1", "z2"] });
  return { engine, campaignId: campaign.id };
}

function zoneStep({ engine, campaignId }: Awaited<ReturnType<typeof prepareZones>>): Step {
  return async (i) => {
    let r!: Awaited<ReturnType<typeof engine.requestConversations>>;
    const s = await timed(async () => (r = await engine.requestConversations({ campaignId, texterId: i % 2 === 0 ? "z1" : "z2" })));
    if (!r.ok || r.conversations.length !== BATCH) throw new Error("zone benchmark request did not get a full batch");
    if (r.conversations.some((c) => c.contactTimeZone === "Asia/Singapore")) throw new Error("T2: a contact outside hours was handed out");
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
    return s;
  };
}

/** T4 baseline: the minute-by-minute walk `idleCutoff` replaced (one `Intl` look-up per minute). */
function idleCutoffMinuteWalk(now: number, idleMs: number, schedule: CampaignSchedule): number {
  const minute = 60_000;
  const open = parseClock(schedule.textingHoursStart)!;
  const close = parseClock(schedule.textingHoursEnd)!;
  let needed = Math.ceil(idleMs / minute);
  let t = Math.floor(now / minute) * minute;
  for (let steps = 0; needed > 0 && steps < 400 * 1440; steps++) {
    t -= minute;
    const local = localMinutes(t, schedule.timeZone);
    if (local >= open && local < close) needed--;
  }
  return t;
}

/**
 * T4: time for one stale-release cutoff with a 30-day limit (MAX_IDLE_MS), default hours 09:00–21:00 in
 * New York (60 days back, across a daylight-saving change), by the minute walk and by `idleCutoff`.
 */
function measureIdleCutoff() {
  const schedule: CampaignSchedule = { timeZone: "America/New_York", textingHoursStart: "09:00", textingHoursEnd: "21:00", startsAt: null, endsAt: null };
  const nows = Array.from({ length: 8 }, (_, i) => Date.UTC(2026, 11, 15, 14, 7) + i * 3 * 86_400_000);
  const time = (fn: (now: number) => number, rounds: number) => {
    const times: number[] = [];
    for (let r = -1; r < rounds; r++) {
      for (const now of nows) {
        const t0 = performance.now();
        fn(now);
        if (r >= 0) times.push(performance.now() - t0); // the first round is warm-up
      }
    }
    return times.sort((a, b) => a - b);
  };
  for (const now of nows) {
    if (idleCutoff(now, MAX_IDLE_MS, schedule) !== idleCutoffMinuteWalk(now, MAX_IDLE_MS, schedule)) throw new Error("T4: idleCutoff disagrees with the minute walk");
  }
  const walk = time((now) => idleCutoffMinuteWalk(now, MAX_IDLE_MS, schedule), 2);
  const ours = time((now) => idleCutoff(now, MAX_IDLE_MS, schedule), 100);
  return { walk: { p50: percentile(walk, 50), p99: percentile(walk, 99) }, ours: { p50: percentile(ours, 50), p99: percentile(ours, 99) } };
}

/** An organization of `members` members, every one a sender on a 100,000 campaign. */
async function prepareRoster(members: number) {
  const engine = createEngine({ storage: createMemoryStorage({ maxEvents: 1000 }) });
  const org = await engine.createOrganization({ name: "Roster", ownerId: "admin" });
  const users = Array.from({ length: members }, (_, i) => `member-${i}`);
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: users.map((userId) => ({ userId, role: "texter" as const })) });
  const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Roster" });
  await engine.importContacts({ actorId: "admin", campaignId: campaign.id, contacts: Array.from({ length: 100_000 }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: campaign.id, enabled: true, batchSize: BATCH, gate: "none", textingHoursStart: "00:00", textingHoursEnd: "24:00" });
  await engine.launchCampaign({ actorId: "admin", campaignId: campaign.id });
  await engine.addSenders({ actorId: "admin", campaignId: campaign.id, userIds: users });
  return { engine, campaignId: campaign.id, users };
}

/** A request on a roster organization's campaign (its batch handed back untimed). */
function rosterStep({ engine, campaignId, users }: Awaited<ReturnType<typeof prepareRoster>>): Step {
  return async (i) => {
    const texterId = users[(i + 20) % users.length]!;
    let r!: Awaited<ReturnType<typeof engine.requestConversations>>;
    const s = await timed(async () => (r = await engine.requestConversations({ campaignId, texterId })));
    if (!r.ok) throw new Error("roster benchmark request was refused");
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
    return s;
  };
}

/** One `addMember` call into a new organization that starts with `existing` members. */
async function addMemberStep(existing: number): Promise<Step> {
  const engine = createEngine({ storage: createMemoryStorage({ maxEvents: 1000 }) });
  const org = await engine.createOrganization({ name: "Adds", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: Array.from({ length: existing }, (_, i) => ({ userId: `old-${i}`, role: "texter" as const })) });
  return (i) => timed(() => engine.addMember({ actorId: "admin", orgId: org.id, userId: `new-${i}`, role: "texter" }));
}

type Engines = Awaited<ReturnType<typeof measureEngines>>;


async function main() {
  if (!gc) console.warn("warning: run with --expose-gc for accurate memory figures (npm run bench does)");
  const started = performance.now();
  const m = machine();
  const small = await prepareEngine(10_000);
  const large = await prepareEngine(1_000_000);
  const inside = await prepareZones(1_000_000, false);
  const half = await prepareZones(1_000_000, true);
  const roster10 = await prepareRoster(10);
  const roster10k = await prepareRoster(10_000);
  type Lat = { p50: number; p99: number };
  const rounds = {
    small: [] as Engines["small"][],
    large: [] as Engines["large"][],
    inside: [] as Lat[],
    half: [] as Lat[],
    roster10: [] as Lat[],
    roster10k: [] as Lat[],
    add100: [] as Lat[],
    add10k: [] as Lat[],
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const engines = await measureEngines(small, large);
    rounds.small.push(engines.small);
    rounds.large.push(engines.large);
    const [insideRun, halfRun] = await sideBySide([zoneStep(inside), zoneStep(half)], REQUESTS, 20);
    rounds.inside.push(latency(insideRun!));
    rounds.half.push(latency(halfRun!));
    const [r10, r10k] = await sideBySide([rosterStep(roster10), rosterStep(roster10k)], REQUESTS, 20);
    rounds.roster10.push(latency(r10!));
    rounds.roster10k.push(latency(r10k!));
    const [a100, a10k] = await sideBySide([await addMemberStep(100), await addMemberStep(10_000)], 500, 50);
    rounds.add100.push(latency(a100!));
    rounds.add10k.push(latency(a10k!));
    const l = rounds.large.at(-1)!;
    console.log(`round ${round}: 1M p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms (without GC overlap ${l.p99WithoutGc.toFixed(3)} ms), ${l.minorGcs} young-generation GCs of ${l.meanMinorGcMs.toFixed(2)} ms`);
  }
  const naiveSmall = measureNaive(10_000, Math.min(REQUESTS, 30));
  const naiveLarge = measureNaive(1_000_000, 15);
  const cutoff = measureIdleCutoff();
  const med = <K extends string>(list: readonly Record<K, number>[], key: K) => median(list.map((r) => r[key]));
  const lat = (list: readonly Lat[]) => [med(list, "p50"), med(list, "p99")] as const;
  const rows: [string, number, number][] = [
    ["selfassign, 10k pool", ...lat(rounds.small)],
    ["selfassign, 1M pool", ...lat(rounds.large)],
    ["selfassign, 1M pool, requests no GC overlapped", med(rounds.large, "p50"), med(rounds.large, "p99WithoutGc")],
    ["selfassign, 1M, all contacts inside hours", ...lat(rounds.inside)],
    ["selfassign, 1M, half outside hours (T2)", ...lat(rounds.half)],
    ["naive filter+sort, 10k pool", naiveSmall.p50, naiveSmall.p99],
    ["naive filter+sort, 1M pool", naiveLarge.p50, naiveLarge.p99],
    ["T4 idleCutoff, 30-day limit", cutoff.ours.p50, cutoff.ours.p99],
    ["T4 minute walk, 30-day limit", cutoff.walk.p50, cutoff.walk.p99],
    ["request, 10 members all senders (100k pool)", ...lat(rounds.roster10)],
    ["request, 10,000 members all senders (100k pool)", ...lat(rounds.roster10k)],
    ["addMember at 100 members", ...lat(rounds.add100)],
    ["addMember at 10,000 members", ...lat(rounds.add10k)],
  ];
  const large1 = rounds.large;
  const targets = [
    target("p50 at 1M / p50 at 10k", pairedRatio(large1, rounds.small, p50), "<= 1.5", { unit: "x" }),
    target("p99 at 1M, default Node flags", med(large1, "p99"), "<= 0.5", { source: "issue 12", unit: "ms" }),
    target("naive p50 / selfassign p50 at 1M", naiveLarge.p50 / med(large1, "p50"), ">= 100", { unit: "x" }),
    target("bytes per conversation at 1M (heap + buffers)", large.bytesPerConversation, "< 200", { unit: "B" }),
    target("T2: p50 half outside hours / all inside (1M)", pairedRatio(rounds.half, rounds.inside, p50), "<= 1.5", { unit: "x" }),
    target("T4: minute walk / idleCutoff p50 (30 days)", cutoff.walk.p50 / cutoff.ours.p50, ">= 100", { unit: "x" }),
    target("request p50 with 10,000 members all senders / with 10", pairedRatio(rounds.roster10k, rounds.roster10, p50), "<= 1.2", { source: "issue 9", unit: "x" }),
    target("addMember p50 at 10,000 members / at 100", pairedRatio(rounds.add10k, rounds.add100, p50), "<= 1.5", { source: "issue 9", unit: "x" }),
  ];
  const gcRow = (name: string, list: Engines["small"][]) => [
    name,
    med(list, "p99"),
    med(list, "p99WithoutGc"),
    Math.round(med(list, "slowestWithGc") * 100),
    med(list, "minorGcs"),
    med(list, "meanMinorGcMs"),
    med(list, "otherGcs"),
  ];
  const tables: Table[] = [
    { title: `Request latency, batch ${BATCH}, ${REQUESTS} requests per size and round (ms)`, columns: ["case", "p50 ms", "p99 ms"], rows },
    {
      title: `Where the p99 comes from (per round of ${REQUESTS} requests)`,
      columns: ["pool", "p99 ms", "p99 of requests no GC overlapped", "slowest 1% overlapping a GC %", "young-generation GCs", "mean young GC ms", "other GCs"],
      rows: [gcRow("10k", rounds.small), gcRow("1M", rounds.large)],
      note:
        "The two pools' requests alternate, so a round's collections (counted once for both rows) come from both. A request is counted as overlapped when a garbage collection (PerformanceObserver \"gc\" entry) ran during it. A young-generation collection starts when an allocation finds the young generation full, so the chance that one starts inside a given request is about that request's own allocation (mostly the batch's conversation objects) over the young generation's size (16 MB by default), however much the untimed release allocates.",
    },
  ];
  printTargets(targets);
  const out = writeReport("memory", {
    title: "In-memory adapter",
    command: "npm run bench",
    date: new Date().toISOString(),
    machine: m,
    load: `batch ${BATCH}, ${REQUESTS} measured requests per case and round after 20 warm-up ones, each batch handed back untimed so every request sees the full pool; the cases compared by a target run request by request, alternating (10k and 1M pools, all inside and half outside, 10 and 10,000 members, addMember at 100 and 10,000: 500 calls after 50 warm-up), and a target's ratio is the median of its per-round ratios; memory is the growth of heap plus ArrayBuffers across importing 1,000,000 contacts; the naive baseline filters and sorts an array of objects per request (single run).`,
    rounds: ROUNDS,
    seconds: (performance.now() - started) / 1000,
    tables,
    targets,
    raw: rounds,
  });
  console.log(`written ${out}`);
  console.log(`written ${writeDocs()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

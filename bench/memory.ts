/**
 * In-memory adapter benchmark (issue: core engine). One run, side by side:
 * - request latency (p50, p99) for batch 300 at 10,000 and at 1,000,000 conversations;
 * - the same request on a naive baseline (filter and sort the pool per request) at both sizes;
 * - memory per conversation at 1,000,000: JS heap plus typed-array buffers, measured around the import.
 * - T2: p50 at 1,000,000 with half the contacts outside texting hours vs all inside.
 * - T4: `idleCutoff` for a 30-day limit versus the minute-by-minute walk it replaced.
 * - Organization size (sets are rows): request p50 with 10,000 members who are all senders vs 10;
 *   the cost of one `addMember` at 10,000 members vs at 100.
 * Targets: p50(1M) / p50(10k) ≤ 1.5; naive p50(1M) / ours p50(1M) ≥ 100; < 200 bytes per conversation;
 * half outside / all inside ≤ 1.5; minute walk / idleCutoff ≥ 100 (100x faster); request p50 with
 * 10,000 senders / with 10 ≤ 1.2; addMember at 10,000 / at 100 ≤ 1.5.
 *
 * Run: npm run bench  (needs --expose-gc, which the script passes)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine } from "../src/index.js";
import { MAX_IDLE_MS, idleCutoff, localMinutes, parseClock } from "../src/core/time.js";
import type { CampaignSchedule } from "../src/types.js";
import { createMemoryStorage } from "../src/memory.js";

const BATCH = 300;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
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

async function measureEngine(size: number) {
  const { engine, campaignId, users, bytesPerConversation } = await buildCampaign(size, 4);
  // Some replies scattered through the pool so the needs-reply bucket is exercised.
  for (let i = 0; i < 200; i++) {
    const id = `${campaignId}:${Math.floor((i * size) / 200)}`;
    await engine.recordInitialSent({ conversationId: id });
    await engine.recordContactReply({ conversationId: id });
  }
  const times: number[] = [];
  for (let i = -20; i < REQUESTS; i++) {
    const texterId = users[(i + 20) % users.length]!;
    const t0 = performance.now();
    const r = await engine.requestConversations({ campaignId, texterId });
    const elapsed = performance.now() - t0;
    if (i >= 0) times.push(elapsed); // the first 20 are warm-up
    if (!r.ok || r.conversations.length !== BATCH) throw new Error("benchmark request did not get a full batch");
    // Hand the batch back (untimed) so the pool stays at `size` for every measured request.
    await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) });
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), bytesPerConversation };
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
async function measureZones(size: number, halfOutside: boolean) {
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
  const times: number[] = [];
  for (let i = -20; i < REQUESTS; i++) {
    const t0 = performance.now();
    const r = await engine.requestConversations({ campaignId: campaign.id, texterId: i % 2 === 0 ? "z1" : "z2" });
    const elapsed = performance.now() - t0;
    if (i >= 0) times.push(elapsed);
    if (!r.ok || r.conversations.length !== BATCH) throw new Error("zone benchmark request did not get a full batch");
    if (r.conversations.some((c) => c.contactTimeZone === "Asia/Singapore")) throw new Error("T2: a contact outside hours was handed out");
    await engine.releaseConversations({ actorId: "admin", campaignId: campaign.id, conversationIds: r.conversations.map((c) => c.id) });
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
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

/** Request p50 on a 100,000 pool when the organization has `members` members, every one a sender. */
async function measureRoster(members: number) {
  const engine = createEngine({ storage: createMemoryStorage({ maxEvents: 1000 }) });
  const org = await engine.createOrganization({ name: "Roster", ownerId: "admin" });
  const users = Array.from({ length: members }, (_, i) => `member-${i}`);
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: users.map((userId) => ({ userId, role: "texter" as const })) });
  const campaign = await engine.createCampaign({ actorId: "admin", orgId: org.id, title: "Roster" });
  await engine.importContacts({ actorId: "admin", campaignId: campaign.id, contacts: Array.from({ length: 100_000 }, (_, i) => ({ contactId: `c${i}` })) });
  await engine.updateCampaignSettings({ actorId: "admin", campaignId: campaign.id, enabled: true, batchSize: BATCH, gate: "none", textingHoursStart: "00:00", textingHoursEnd: "24:00" });
  await engine.launchCampaign({ actorId: "admin", campaignId: campaign.id });
  await engine.addSenders({ actorId: "admin", campaignId: campaign.id, userIds: users });
  const times: number[] = [];
  for (let i = -20; i < REQUESTS; i++) {
    const texterId = users[(i + 20) % users.length]!;
    const t0 = performance.now();
    const r = await engine.requestConversations({ campaignId: campaign.id, texterId });
    if (i >= 0) times.push(performance.now() - t0);
    if (!r.ok) throw new Error("roster benchmark request was refused");
    await engine.releaseConversations({ actorId: "admin", campaignId: campaign.id, conversationIds: r.conversations.map((c) => c.id) });
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Mean time of one `addMember` call into an organization that already has `existing` members. */
async function measureAddMember(existing: number) {
  const engine = createEngine({ storage: createMemoryStorage({ maxEvents: 1000 }) });
  const org = await engine.createOrganization({ name: "Adds", ownerId: "admin" });
  await engine.addMembers({ actorId: "admin", orgId: org.id, members: Array.from({ length: existing }, (_, i) => ({ userId: `old-${i}`, role: "texter" as const })) });
  const times: number[] = [];
  for (let i = -50; i < 500; i++) {
    const t0 = performance.now();
    await engine.addMember({ actorId: "admin", orgId: org.id, userId: `new-${i}`, role: "texter" });
    if (i >= 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  if (!gc) console.warn("warning: run with --expose-gc for accurate memory figures (npm run bench does)");
  const small = await measureEngine(10_000);
  const large = await measureEngine(1_000_000);
  const zonesInside = await measureZones(1_000_000, false);
  const zonesHalf = await measureZones(1_000_000, true);
  const naiveSmall = measureNaive(10_000, Math.min(REQUESTS, 30));
  const naiveLarge = measureNaive(1_000_000, 15);
  const cutoff = measureIdleCutoff();
  const roster10 = await measureRoster(10);
  const roster10k = await measureRoster(10_000);
  const add100 = await measureAddMember(100);
  const add10k = await measureAddMember(10_000);
  const rows = [
    { case: "selfassign, 10k pool", p50_ms: small.p50, p99_ms: small.p99 },
    { case: "selfassign, 1M pool", p50_ms: large.p50, p99_ms: large.p99 },
    { case: "selfassign, 1M, all contacts inside hours", p50_ms: zonesInside.p50, p99_ms: zonesInside.p99 },
    { case: "selfassign, 1M, half outside hours (T2)", p50_ms: zonesHalf.p50, p99_ms: zonesHalf.p99 },
    { case: "naive filter+sort, 10k pool", p50_ms: naiveSmall.p50, p99_ms: naiveSmall.p99 },
    { case: "naive filter+sort, 1M pool", p50_ms: naiveLarge.p50, p99_ms: naiveLarge.p99 },
    { case: "T4 idleCutoff, 30-day limit", p50_ms: cutoff.ours.p50, p99_ms: cutoff.ours.p99 },
    { case: "T4 minute walk, 30-day limit", p50_ms: cutoff.walk.p50, p99_ms: cutoff.walk.p99 },
    { case: "request, 10 members all senders (100k pool)", p50_ms: roster10.p50, p99_ms: roster10.p99 },
    { case: "request, 10,000 members all senders (100k pool)", p50_ms: roster10k.p50, p99_ms: roster10k.p99 },
    { case: "addMember at 100 members", p50_ms: add100.p50, p99_ms: add100.p99 },
    { case: "addMember at 10,000 members", p50_ms: add10k.p50, p99_ms: add10k.p99 },
  ];
  const ratios = {
    p50_1M_over_10k: large.p50 / small.p50,
    naive_over_selfassign_at_1M: naiveLarge.p50 / large.p50,
    heap_bytes_per_conversation_1M: large.bytesPerConversation,
    half_outside_over_all_inside_p50: zonesHalf.p50 / zonesInside.p50,
    idle_cutoff_minute_walk_over_ours_30d_p50: cutoff.walk.p50 / cutoff.ours.p50,
    request_p50_10k_senders_over_10: roster10k.p50 / roster10.p50,
    add_member_p50_at_10k_over_100: add10k.p50 / add100.p50,
  };
  const targets = {
    p50_1M_over_10k: "<= 1.5",
    naive_over_selfassign_at_1M: ">= 100",
    heap_bytes_per_conversation_1M: "< 200",
    half_outside_over_all_inside_p50: "<= 1.5",
    idle_cutoff_minute_walk_over_ours_30d_p50: ">= 100",
    request_p50_10k_senders_over_10: "<= 1.2",
    add_member_p50_at_10k_over_100: "<= 1.5",
  };
  const met = {
    p50_1M_over_10k: ratios.p50_1M_over_10k <= 1.5,
    naive_over_selfassign_at_1M: ratios.naive_over_selfassign_at_1M >= 100,
    heap_bytes_per_conversation_1M: ratios.heap_bytes_per_conversation_1M < 200,
    half_outside_over_all_inside_p50: ratios.half_outside_over_all_inside_p50 <= 1.5,
    idle_cutoff_minute_walk_over_ours_30d_p50: ratios.idle_cutoff_minute_walk_over_ours_30d_p50 >= 100,
    request_p50_10k_senders_over_10: ratios.request_p50_10k_senders_over_10 <= 1.2,
    add_member_p50_at_10k_over_100: ratios.add_member_p50_at_10k_over_100 <= 1.5,
  };
  console.log(`Request latency, batch ${BATCH}, ${REQUESTS} requests per size, and T4 cutoff time (ms):`);
  console.table(rows.map((r) => ({ ...r, p50_ms: r.p50_ms.toFixed(3), p99_ms: r.p99_ms.toFixed(3) })));
  console.table(
    Object.entries(ratios).map(([name, value]) => ({ ratio: name, value: value.toFixed(2), target: targets[name as keyof typeof targets], met: met[name as keyof typeof met] })),
  );
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "memory.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, batch: BATCH, requests: REQUESTS, rows, ratios, targets, met }, null, 2)}\n`,
  );
  console.log(`written ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * Real organizations (issue 9), on the same server:
 *   - invite rush: 1,000 members call `joinByInvite` at once through two engines on separate pools
 *     (two app servers): errors, distinct first batches, no conversation twice, time to the last batch;
 *   - organization size: request p50 with 10,000 members all senders vs 10; one `addMember` at 10,000
 *     members vs at 100; `addMembers` of 10,000 in one call;
 *   - admin at peak: 64 requesters claim continuously on the big campaign (gate none) while an admin
 *     pauses, resumes, unassigns all, reassigns some, changes settings and adds senders; each admin
 *     operation's p99, and claim throughput with and without the admin load.
 */
import type { Engine } from "../src/index.js";
import { type Bench, ROUNDS, SCHEMA, campaign, otherServer, unassign } from "./lib/pg.js";
import { type Report, type Table, type Target, machine, median, pct, target } from "./lib/report.js";

const RUSH = 1_000;
const RUSH_BATCH = 100;

/** One invite rush: RUSH new members join at once, half through each of two app servers. */
async function inviteRush(bench: Bench, round: number) {
  const { engine, orgId } = bench;
  const members = Array.from({ length: RUSH }, (_, i) => `rush${round}-${i}`);
  await engine.addMembers({ actorId: "admin", orgId, members: members.map((userId) => ({ userId, role: "texter" as const })) });
  const campaignId = await campaign(engine, orgId, `rush-${round}`, RUSH * RUSH_BATCH + 10_000, [], { batchSize: RUSH_BATCH });
  const { token } = await engine.enableInviteLink({ actorId: "admin", campaignId });
  const servers = [otherServer(bench, 8).engine, otherServer(bench, 8).engine];
  let errors = 0;
  let lastBatch = 0;
  const batches: string[][] = [];
  const start = performance.now();
  await Promise.all(
    members.map(async (userId, i) => {
      try {
        const r = await servers[i % 2]!.joinByInvite({ token, userId });
        if (!r.ok) errors++;
        else batches.push(r.conversations.map((c) => c.id));
        lastBatch = performance.now() - start;
      } catch {
        errors++;
      }
    }),
  );
  const ids = batches.flat();
  return {
    errors,
    firstBatches: batches.filter((b) => b.length > 0).length,
    twice: ids.length - new Set(ids).size,
    seconds: lastBatch / 1000,
  };
}

/**
 * Request p50 (ms) on two 100,000 pools, one whose organization has 10 members and one with 10,000,
 * all senders: requests alternate between the two (batches handed back untimed), so the machine's
 * load falls on both alike.
 */
async function requestsByRoster(engine: Engine, orgs: readonly { campaignId: string; members: readonly string[] }[], requests: number): Promise<number[]> {
  const times = orgs.map(() => [] as number[]);
  for (let i = -10; i < requests; i++) {
    for (const [k, o] of orgs.entries()) {
      const texterId = o.members[(i + 10) % o.members.length]!;
      const t0 = performance.now();
      const r = await engine.requestConversations({ campaignId: o.campaignId, texterId });
      if (i >= 0) times[k]!.push(performance.now() - t0);
      if (!r.ok) throw new Error(`roster request refused: ${r.reason}`);
      await engine.releaseConversations({ actorId: "admin", campaignId: o.campaignId, conversationIds: r.conversations.map((c) => c.id) });
    }
  }
  return times.map((t) => pct(t.sort((a, b) => a - b), 50));
}

/** p50 (ms) of single `addMember` calls, alternating between organizations. */
async function addMemberCost(engine: Engine, orgIds: readonly string[], prefix: string, n: number): Promise<number[]> {
  const times = orgIds.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [k, orgId] of orgIds.entries()) {
      const t0 = performance.now();
      await engine.addMember({ actorId: "admin", orgId, userId: `${prefix}-${k}-${i}`, role: "texter" });
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((t) => pct(t.sort((a, b) => a - b), 50));
}

/** Pause between two admin operations at peak. */
const ADMIN_GAP_MS = 750;
const ADMIN_OPS = ["updateCampaignSettings", "addSenders", "reassignSome", "pauseCampaign", "resumeCampaign", "unassignAll"] as const;

/**
 * 64 requesters claim for `seconds`, each handing its batch back right after (so at most 64 batches are
 * held and the pool never drains); with `admin`, an admin runs one operation every ADMIN_GAP_MS
 * meanwhile. Returns claimed conversations per second and each admin operation's times.
 */
async function peak(bench: Bench, seconds: number, admin: boolean, round: number) {
  const { engine, campaignId, texters } = bench;
  const extra = Array.from({ length: 200 }, (_, i) => `peak${round}-${i}`);
  if (admin) await engine.addMembers({ actorId: "admin", orgId: bench.orgId, members: extra.map((userId) => ({ userId, role: "texter" as const })) });
  let claimed = 0;
  let stop = false;
  const requesters = texters.map(async (texterId) => {
    while (!stop) {
      const r = await engine.requestConversations({ campaignId, texterId });
      if (r.ok) {
        claimed += r.conversations.length;
        // Handed back at once (an unassignAll or a reassignment may have taken some: then nothing is).
        await engine.releaseConversations({ actorId: "admin", campaignId, conversationIds: r.conversations.map((c) => c.id) }).catch(() => undefined);
      } else await new Promise((res) => setTimeout(res, 5)); // paused, or nothing left for a moment
    }
  });
  const times = new Map<string, number[]>(ADMIN_OPS.map((op) => [op, []]));
  const start = performance.now();
  // While the campaign is paused (from the pause's commit to the resume's), no claim can be served by
  // design: throughput is compared over the time the campaign is active.
  let pausedAt: number | null = null;
  let pausedMs = 0;
  const adminLoop = (async () => {
    if (!admin) return;
    let k = 0;
    while (performance.now() - start < seconds * 1000) {
      await new Promise((res) => setTimeout(res, ADMIN_GAP_MS));
      const op = ADMIN_OPS[k % ADMIN_OPS.length]!;
      const t0 = performance.now();
      switch (op) {
        case "updateCampaignSettings":
          await engine.updateCampaignSettings({ actorId: "admin", campaignId, batchSize: k % 2 === 0 ? 299 : 300 });
          break;
        case "addSenders":
          await engine.addSenders({ actorId: "admin", campaignId, userIds: [extra[Math.floor(k / ADMIN_OPS.length) % extra.length]!] });
          break;
        case "reassignSome":
          await engine.reassignSome({ actorId: "admin", campaignId, from: "unassigned", filter: "any", count: 100, to: [texters[k % texters.length]!] });
          break;
        case "pauseCampaign":
          await engine.pauseCampaign({ actorId: "admin", campaignId });
          pausedAt = performance.now();
          break;
        case "resumeCampaign":
          await engine.resumeCampaign({ actorId: "admin", campaignId });
          if (pausedAt !== null) pausedMs += performance.now() - pausedAt;
          pausedAt = null;
          break;
        case "unassignAll":
          await engine.unassignAll({ actorId: "admin", campaignId });
          break;
      }
      times.get(op)!.push(performance.now() - t0);
      k++;
    }
  })();
  adminLoop.catch(() => undefined); // awaited below; a failure must not crash the process before that (the server would be left running)
  await new Promise((res) => setTimeout(res, seconds * 1000));
  let elapsed = 0;
  try {
    await adminLoop;
    elapsed = (performance.now() - start) / 1000;
    if (pausedAt !== null) pausedMs += performance.now() - pausedAt;
  } finally {
    stop = true;
    await Promise.all(requesters);
  }
  // The admin's cycle may have ended between a pause and its resume: the next run starts active.
  if ((await engine.getCampaign(campaignId)).status === "paused") await engine.resumeCampaign({ actorId: "admin", campaignId });
  return { conversationsPerS: claimed / (elapsed - pausedMs / 1000), pausedShare: pausedMs / 1000 / elapsed, times };
}

/** The issue-9 report (bench/results/postgres-org.json). */
export async function runOrg(bench: Bench): Promise<Report> {
  const started = performance.now();
  const m = machine(bench.postgresVersion);
  const { engine, pool } = bench;

  // Invite rush.
  const rushes = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await inviteRush(bench, round);
    console.log(`round ${round}: invite rush of ${RUSH}: ${r.errors} errors, ${r.firstBatches} first batches, ${r.twice} twice, last batch after ${r.seconds.toFixed(2)} s`);
    rushes.push(r);
  }

  // Organization size: two organizations, 10 and 10,000 members, all senders on a 100,000 campaign.
  const rosterOrgs = [];
  for (const size of [10, 10_000]) {
    const org = await engine.createOrganization({ name: `roster ${size}`, ownerId: "admin" });
    const members = Array.from({ length: size }, (_, i) => `m${size}-${i}`);
    await engine.addMembers({ actorId: "admin", orgId: org.id, members: members.map((userId) => ({ userId, role: "texter" as const })) });
    const campaignId = await campaign(engine, org.id, `roster-${size}`, 100_000, members);
    rosterOrgs.push({ size, orgId: org.id, campaignId, members });
  }
  await pool.query(`VACUUM ANALYZE ${SCHEMA}.conversations`);
  const request: Record<number, number[]> = { 10: [], 10_000: [] };
  const adds: Record<number, number[]> = { 100: [], 10_000: [] };
  const bulk: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const [r10, r10k] = await requestsByRoster(engine, rosterOrgs, 150);
    request[10]!.push(r10!);
    request[10_000]!.push(r10k!);
    // 100 members (the owner and 99), fresh each round; the 10,000 one grows by 100 a round.
    const small = await engine.createOrganization({ name: `adds at 100, round ${round}`, ownerId: "admin" });
    await engine.addMembers({ actorId: "admin", orgId: small.id, members: Array.from({ length: 99 }, (_, i) => ({ userId: `s${round}-${i}`, role: "texter" as const })) });
    const [a100, a10k] = await addMemberCost(engine, [small.id, rosterOrgs[1]!.orgId], `add-${round}`, 100);
    adds[100]!.push(a100!);
    adds[10_000]!.push(a10k!);
    const fresh = await engine.createOrganization({ name: `bulk ${round}`, ownerId: "admin" });
    const t0 = performance.now();
    await engine.addMembers({ actorId: "admin", orgId: fresh.id, members: Array.from({ length: 10_000 }, (_, i) => ({ userId: `bulk${round}-${i}`, role: "texter" as const })) });
    bulk.push((performance.now() - t0) / 1000);
    console.log(
      `round ${round}: request p50 with 10 senders ${request[10]!.at(-1)!.toFixed(2)} ms, with 10,000 ${request[10_000]!.at(-1)!.toFixed(2)} ms; addMember at 100 ${adds[100]!.at(-1)!.toFixed(2)} ms, at 10,000 ${adds[10_000]!.at(-1)!.toFixed(2)} ms; addMembers of 10,000 ${bulk.at(-1)!.toFixed(2)} s`,
    );
  }

  // Admin at peak, on the big campaign, interleaved: without, then with the admin load, each round.
  const PEAK_SECONDS = 15;
  const without: number[] = [];
  const withAdmin: number[] = [];
  const pausedShares: number[] = [];
  const opTimes = new Map<string, number[]>(ADMIN_OPS.map((op) => [op, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    await unassign(pool, "conversations", bench.campaignId);
    const a = await peak(bench, PEAK_SECONDS, false, round);
    await unassign(pool, "conversations", bench.campaignId);
    const b = await peak(bench, PEAK_SECONDS, true, round);
    without.push(a.conversationsPerS);
    withAdmin.push(b.conversationsPerS);
    pausedShares.push(b.pausedShare);
    for (const [op, t] of b.times) opTimes.get(op)!.push(...t);
    console.log(`round ${round}: 64 requesters: ${Math.round(a.conversationsPerS)} conv/s alone, ${Math.round(b.conversationsPerS)} conv/s with the admin; admin max ${Math.max(...[...b.times.values()].flat()).toFixed(0)} ms`);
  }
  await unassign(pool, "conversations", bench.campaignId);

  const rush = {
    errors: rushes.reduce((n, r) => n + r.errors, 0),
    firstBatches: Math.min(...rushes.map((r) => r.firstBatches)),
    twice: rushes.reduce((n, r) => n + r.twice, 0),
    seconds: median(rushes.map((r) => r.seconds)),
  };
  const p99 = (op: string) => pct([...opTimes.get(op)!].sort((a, b) => a - b), 99);
  const targets: Target[] = [
    target(`invite rush of ${RUSH.toLocaleString("en-US")}: errors (all rounds)`, rush.errors, "== 0", { source: "issue 9" }),
    target("invite rush: distinct first batches (fewest in a round)", rush.firstBatches, `>= ${RUSH}`, { source: "issue 9" }),
    target("invite rush: conversations handed out twice", rush.twice, "== 0", { source: "issue 9" }),
    target("request p50 with 10,000 members all senders / with 10", median(request[10_000]!) / median(request[10]!), "<= 1.2", { source: "issue 9", unit: "x" }),
    target("addMember p50 at 10,000 members / at 100", median(adds[10_000]!) / median(adds[100]!), "<= 1.5", { source: "issue 9", unit: "x" }),
    target("addMembers of 10,000 in one call", median(bulk), "< 2", { source: "issue 9", unit: "s" }),
    ...ADMIN_OPS.map((op) => target(`${op} p99 while 64 requesters claim`, p99(op), "<= 500", { source: "issue 9", unit: "ms" })),
    target("claim throughput with the admin load / without (while active)", median(withAdmin) / median(without), ">= 0.9", { source: "issue 9", unit: "x" }),
  ];
  const tables: Table[] = [
    {
      title: `Invite rush: ${RUSH.toLocaleString("en-US")} members join at once through two app servers (pools of 8), batch ${RUSH_BATCH}`,
      columns: ["round", "errors", "first batches", "conversations twice", "time to the last batch (s)"],
      rows: rushes.map((r, i) => [i + 1, r.errors, r.firstBatches, r.twice, r.seconds]),
    },
    {
      title: "Organization size (medians of rounds)",
      columns: ["measure", "small", "large", "large / small"],
      rows: [
        ["request p50 (ms), 10 vs 10,000 members all senders, 100,000 pool", median(request[10]!), median(request[10_000]!), median(request[10_000]!) / median(request[10]!)],
        ["addMember p50 (ms), at 100 vs 10,000 members", median(adds[100]!), median(adds[10_000]!), median(adds[10_000]!) / median(adds[100]!)],
        ["addMembers of 10,000 (s)", null, median(bulk), null],
      ],
    },
    {
      title: `Admin at peak: 64 requesters claim continuously (gate none), one admin operation every ${ADMIN_GAP_MS} ms`,
      columns: ["operation", "samples", "p50 ms", "p99 ms", "max ms"],
      rows: ADMIN_OPS.map((op) => {
        const t = [...opTimes.get(op)!].sort((a, b) => a - b);
        return [op, t.length, pct(t, 50), pct(t, 99), t.at(-1) ?? null];
      }),
      note: `Claims: ${Math.round(median(without)).toLocaleString("en-US")} conversations/s without the admin, ${Math.round(median(withAdmin)).toLocaleString("en-US")} with (medians of ${ROUNDS} rounds of ${PEAK_SECONDS} s), counted over the time the campaign is active: it is paused from each pause to the next resume (${Math.round(median(pausedShares) * 100)}% of the run, median), when by design no claim is served. Each requester hands its batch back right after claiming it, so the pool never drains.`,
    },
  ];
  return {
    title: "PostgreSQL: organizations at scale (issue 9)",
    command: "npm run bench:postgres",
    date: new Date().toISOString(),
    machine: m,
    load: `invite rushes on campaigns of ${(RUSH * RUSH_BATCH + 10_000).toLocaleString("en-US")}; organizations of 10 and 10,000 members on campaigns of 100,000; the admin at peak on the big campaign of the claims benchmark, one app process (pool of 8) for requesters and admin.`,
    rounds: ROUNDS,
    seconds: (performance.now() - started) / 1000,
    tables,
    targets,
    raw: { rushes, request, adds, bulk, without, withAdmin, pausedShares, adminTimes: Object.fromEntries(opTimes) },
  };
}

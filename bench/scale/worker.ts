/**
 * One app server of `npm run bench:scale`: an engine over its own small `pg.Pool` through PgBouncer
 * (`listen: false`: transaction pooling keeps no session for LISTEN), running its share of the texters,
 * the provider's webhooks for the messages they send (contact replies, some of them STOP), the
 * periodic stale release (T4), and an event watcher that tells texters what others changed for them.
 * Started by bench/scale/main.ts (IPC); not meant to be run by hand.
 */
import { tracingChannel, subscribe } from "node:diagnostics_channel";
import pg from "pg";
import { CHANNELS, createEngine, startStaleRelease, type Engine } from "../../src/index.js";
import { createPostgresStorage } from "../../src/postgres.js";
import { parseConversationId } from "../../src/storage/rules.js";
import type { ConversationStatus, EventType, SelfAssignEvent } from "../../src/types.js";
import type { FromWorker, LedgerReport, ToWorker, WorkerInit, WorkerStats } from "./protocol.js";
import { Histogram, PerSecond } from "./stats.js";
import { Texter, type TexterApp } from "./texter.js";

const send = (message: FromWorker) => process.send?.(message);

let init: WorkerInit;
let engine: Engine;
let pool: pg.Pool;
let stopping = false;
const wakeOnStop = new Set<() => void>();
const histograms = new Map<string, Histogram>();
const counts = new Map<string, number>();
const errors = new Map<string, { count: number; sample: string }>();
let messages: Map<string, PerSecond>;
const claimQueue = { maxWaiting: 0, maxActive: 0 };
const texters = new Map<string, Texter>();
let runs: Promise<void>[] = [];
let t0 = 0;
let lastJoinMs: number | null = null;

let joinsReported = false;
function count(name: string, n = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + n);
  if (name === "join_settled" && !joinsReported && counts.get(name) === texters.size) {
    joinsReported = true;
    send({ type: "joins_done", index: init.index });
  }
}

function error(op: string, e: unknown): void {
  const code = (e as { code?: unknown })?.code;
  const key = `${op}:${typeof code === "string" ? code : e instanceof Error ? e.message.slice(0, 40) : "unknown"}`;
  const entry = errors.get(key) ?? { count: 0, sample: e instanceof Error ? e.message.slice(0, 300) : String(e) };
  entry.count++;
  errors.set(key, entry);
}

function histogram(op: string): Histogram {
  let h = histograms.get(op);
  if (h === undefined) histograms.set(op, (h = new Histogram()));
  return h;
}

/** Requests slower than the target (start, ms after t0; duration): to line them up with what else ran then. */
const slowRequests: [number, number][] = [];

async function timed<T>(op: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const startedAt = Date.now();
  try {
    return await run();
  } finally {
    const ms = performance.now() - start;
    histogram(op).add(ms);
    if (op === "join") lastJoinMs = Math.max(lastJoinMs ?? 0, Date.now() - t0);
    if (op === "request" && ms > 250 && slowRequests.length < 20_000) slowRequests.push([startedAt - t0, Math.round(ms)]);
  }
}

function sleep(ms: number): Promise<void> {
  if (stopping || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      wakeOnStop.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    wakeOnStop.add(done);
  });
}

function recorded(kind: string, n = 1): void {
  let counter = messages.get(kind);
  if (counter === undefined) messages.set(kind, (counter = new PerSecond(init.epochMs)));
  counter.add(n);
}

// --- the provider: contact replies arrive as webhooks some seconds after a message went out.

interface Webhook {
  readonly campaignId: string;
  readonly conversationId: string;
  readonly first: boolean;
  readonly due: number;
}

const scheduled: Webhook[] = [];
let inbox: Webhook[] = [];
let flushing: Promise<void> | null = null;

function maybeReply(conversationId: string, first: boolean): void {
  const c = init.config;
  if (Math.random() >= (first ? c.replyRate : c.replyRate / 2)) return;
  const key = parseConversationId(conversationId)!;
  const [lo, hi] = c.replyDelayMs;
  scheduled.push({ campaignId: key.campaignId, conversationId, first, due: Date.now() + lo + Math.random() * (hi - lo) });
}

function tickProvider(): void {
  const now = Date.now();
  if (scheduled.length > 0) {
    const due = scheduled.filter((w) => w.due <= now);
    if (due.length > 0) {
      const rest = scheduled.filter((w) => w.due > now);
      scheduled.length = 0;
      scheduled.push(...rest);
      inbox.push(...due);
    }
  }
  if (flushing === null && inbox.length > 0 && !stopping) flushing = flushWebhooks().finally(() => (flushing = null));
}

async function flushWebhooks(): Promise<void> {
  const batch = inbox;
  inbox = [];
  const byCampaign = new Map<string, Webhook[]>();
  for (const w of batch) byCampaign.set(w.campaignId, [...(byCampaign.get(w.campaignId) ?? []), w]);
  const calls: Webhook[][] = [];
  for (const list of byCampaign.values()) {
    if (init.config.webhookFlushMs === 0) for (const w of list) calls.push([w]);
    else for (let i = 0; i < list.length; i += 1000) calls.push(list.slice(i, i + 1000));
  }
  await Promise.all(
    calls.map(async (list) => {
      try {
        const outcomes = await timed("webhook", () =>
          engine.recordMessages({
            campaignId: list[0]!.campaignId,
            messages: list.map((w) => {
              const stop = w.first && Math.random() < init.config.optOutRate;
              return { conversationId: w.conversationId, event: "contact_replied" as const, text: stop ? "STOP" : "sure, tell me more", autoOptOut: w.first };
            }),
          }),
        );
        outcomes.forEach((o) => {
          count(`webhook:${o.result}`);
          if (o.result === "recorded" || o.result === "opted_out") {
            recorded(o.result === "opted_out" ? "opt_out" : "contact_reply");
            const holder = o.conversation.assigneeId;
            if (holder !== null) texters.get(holder)?.replied(o.conversation.id, o.conversation.status);
          }
        });
      } catch (e) {
        error("webhook", e);
      }
    }),
  );
}

// --- texters' own sends: one recordMessages per click, with the texter as actor (it must hold it).

const pendingSends = new Map<string, { texter: Texter; conversationId: string; event: "initial_sent" | "texter_replied"; resolve: (r: "recorded" | "not_held" | "ignored" | "error") => void }[]>();
let sendsFlushing = false;

async function sendOne(texter: Texter, conversationId: string, event: "initial_sent" | "texter_replied"): Promise<"recorded" | "not_held" | "ignored" | "error"> {
  if (init.config.sends === "batched") {
    return new Promise((resolve) => {
      const list = pendingSends.get(texter.campaignId) ?? [];
      list.push({ texter, conversationId, event, resolve });
      pendingSends.set(texter.campaignId, list);
    });
  }
  try {
    const [o] = await timed("send", () => engine.recordMessages({ campaignId: texter.campaignId, actorId: texter.id, messages: [{ conversationId, event }] }));
    count(`send:${o!.result}`);
    if (o!.result === "recorded") {
      recorded(event === "initial_sent" ? "initial" : "texter_reply");
      maybeReply(conversationId, event === "initial_sent");
      return "recorded";
    }
    return o!.result === "not_held" ? "not_held" : o!.result === "ignored" ? "ignored" : "error";
  } catch (e) {
    error("send", e);
    return "error";
  }
}

/** `sends: "batched"`: the host coalesces its texters' sends into one call per campaign (no per-texter holder check). */
async function flushSends(): Promise<void> {
  if (sendsFlushing) return;
  sendsFlushing = true;
  try {
    const all = [...pendingSends];
    pendingSends.clear();
    await Promise.all(
      all.map(async ([campaignId, list]) => {
        try {
          const outcomes = await timed("send_batch", () => engine.recordMessages({ campaignId, messages: list.map((p) => ({ conversationId: p.conversationId, event: p.event })) }));
          outcomes.forEach((o, i) => {
            const p = list[i]!;
            count(`send:${o.result}`);
            if (o.result === "recorded") {
              recorded(p.event === "initial_sent" ? "initial" : "texter_reply");
              maybeReply(p.conversationId, p.event === "initial_sent");
              p.resolve("recorded");
            } else p.resolve(o.result === "ignored" ? "ignored" : "error");
          });
        } catch (e) {
          error("send_batch", e);
          for (const p of list) p.resolve("error");
        }
      }),
    );
  } finally {
    sendsFlushing = false;
  }
}

// --- the event watcher: changes others made to this process's texters.

const WATCHED: EventType[] = ["conversations.assigned", "conversations.unassigned", "conversations.reassigned"];
let watchedUpTo = 0;
let eventsSeen = 0;
const watchAbort = new AbortController();
let watching: Promise<void>;

function apply(e: SelfAssignEvent): void {
  eventsSeen++;
  switch (e.type) {
    case "conversations.assigned": {
      // Claims and joins are counted from their own results; anybody else's assignment from here.
      const t = texters.get(e.data.texterId);
      if (t !== undefined && e.actorId !== e.data.texterId) for (const id of e.data.conversationIds) t.received(id);
      break;
    }
    case "conversations.unassigned": {
      const t = texters.get(e.data.texterId);
      if (t !== undefined && e.actorId !== e.data.texterId) {
        for (const id of e.data.conversationIds) t.lost(id);
        count(`lost:${e.data.reason}`, e.data.conversationIds.length);
      }
      break;
    }
    case "conversations.reassigned": {
      const to = texters.get(e.data.toTexterId);
      for (const m of e.data.moves) {
        if (m.fromTexterId !== null) texters.get(m.fromTexterId)?.lost(m.conversationId);
        to?.received(m.conversationId);
      }
      break;
    }
    default:
      break;
  }
}

/**
 * Poll the event log every `pollMs` (readEvents on a timer) — or, with `watcher: "watch"`, use
 * `engine.watchEvents`. Behind PgBouncer the adapter runs with `listen: false`, and then a watcher also
 * wakes on every commit of its own process (at most every 50 ms): measured, 8 such watchers spent a
 * quarter of PostgreSQL's statement time numbering and reading events (docs/scaling.md).
 */
async function watch(): Promise<void> {
  const signal = watchAbort.signal;
  try {
    if (init.config.watcher === "watch") {
      for await (const e of engine.watchEvents({ after: init.eventHead, types: WATCHED, pollMs: init.config.pollMs, batchSize: 1000, signal })) {
        apply(e);
        watchedUpTo = e.seq;
      }
      return;
    }
    let after = init.eventHead;
    while (!signal.aborted) {
      const page = await timed("events_read", () => engine.readEvents({ after, types: WATCHED, limit: 1000 }));
      for (const e of page) {
        apply(e);
        after = watchedUpTo = e.seq;
      }
      if (page.length < 1000) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          };
          const timer = setTimeout(done, init.config.pollMs);
          signal.addEventListener("abort", done, { once: true });
        });
      }
    }
  } catch (e) {
    if (!signal.aborted) {
      error("watch", e);
      throw e;
    }
  }
}

/**
 * SCALE_TRACE_QUERIES=1: time every statement as the app server sees it (send to result: PgBouncer's
 * queue, the network, PostgreSQL, and this process getting the CPU back), by its first words, and
 * how long each checked-out connection is held. Compared with pg_stat_statements' execution times, it
 * tells where a request's time goes.
 */
function traceQueries(p: pg.Pool): void {
  const label = (text: string) => text.replace(/\s+/g, " ").replace(/"scale"\./g, "").slice(0, 60);
  const wrap = (target: { query: (...args: never[]) => unknown }) => {
    const original = target.query.bind(target) as (...args: unknown[]) => unknown;
    (target as { query: unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === "string" ? args[0] : "(config)";
      const start = performance.now();
      const result = original(...args);
      if (result instanceof Promise) void result.then(() => histogram(`q:${label(text)}`).add(performance.now() - start), () => undefined);
      return result;
    };
  };
  wrap(p as never);
  const connect = p.connect.bind(p) as (...args: unknown[]) => Promise<pg.PoolClient>;
  (p as { connect: unknown }).connect = async (...args: unknown[]) => {
    if (args.length > 0) return connect(...args); // pool.query checks out with a callback: leave it alone
    const start = performance.now();
    const client = await connect();
    histogram("pool_checkout").add(performance.now() - start);
    if (!(client as { traced?: boolean }).traced) {
      (client as { traced?: boolean }).traced = true;
      wrap(client as never);
    }
    const held = performance.now();
    const release = client.release.bind(client);
    client.release = (e?: Error | boolean) => {
      histogram("connection_held").add(performance.now() - held);
      client.release = release;
      return release(e);
    };
    return client;
  };
}

// --- lifecycle

function observe(): void {
  subscribe(CHANNELS.claimQueue, (m) => {
    const q = m as { waiting: number; active: number };
    claimQueue.maxWaiting = Math.max(claimQueue.maxWaiting, q.waiting);
    claimQueue.maxActive = Math.max(claimQueue.maxActive, q.active);
  });
  subscribe(CHANNELS.retry, (m) => count(`retry:${(m as { operation: string }).operation}`));
  subscribe(CHANNELS.timeout, (m) => count(`timeout:${(m as { operation: string }).operation}`));
  const starts = new WeakMap<object, number>();
  tracingChannel("selfassign:releaseStale").subscribe({
    start: (ctx) => void starts.set(ctx as object, performance.now()),
    asyncEnd: (ctx) => {
      const s = starts.get(ctx as object);
      if (s !== undefined) histogram("stale_release").add(performance.now() - s);
    },
    end: () => undefined,
    asyncStart: () => undefined,
    error: (ctx) => error("stale_release", (ctx as { error?: unknown }).error),
  });
}

async function start(message: WorkerInit): Promise<void> {
  init = message;
  messages = new Map();
  pool = new pg.Pool({ connectionString: init.url, max: init.config.pool });
  if (process.env.SCALE_TRACE_QUERIES === "1") traceQueries(pool);
  const storage = createPostgresStorage({ pool, schema: init.config.schema, listen: false, maxConcurrentClaims: init.config.claims });
  engine = createEngine({ storage });
  observe();
  const app: TexterApp = {
    engine,
    token: (c) => init.tokens[c],
    campaignId: (c) => init.campaigns[c],
    thinkMs: init.config.thinkMs,
    viewEveryMs: init.config.viewEveryMs,
    send: sendOne,
    timed,
    error,
    count,
    stopped: () => stopping,
    sleep,
  };
  for (const plan of init.texters) texters.set(plan.id, new Texter(plan, app));
  // Warm the pool (PgBouncer log-ins) before the clock starts.
  await Promise.all(Array.from({ length: init.config.pool }, () => pool.query("SELECT 1")));
  send({ type: "ready", index: init.index });
}

let providerTimer: ReturnType<typeof setInterval> | undefined;
let sendsTimer: ReturnType<typeof setInterval> | undefined;
let progressTimer: ReturnType<typeof setInterval> | undefined;
let staleJob: ReturnType<typeof startStaleRelease> | undefined;

function go(at: number): void {
  t0 = at;
  watching = watch();
  providerTimer = setInterval(tickProvider, Math.max(20, init.config.webhookFlushMs));
  if (init.config.sends === "batched") sendsTimer = setInterval(() => void flushSends(), Math.max(20, init.config.webhookFlushMs));
  staleJob = startStaleRelease(engine, {
    campaignIds: [init.campaigns.A, init.campaigns.B],
    everyMs: init.config.staleEveryMs,
    onReleased: (_campaign, result) => count("stale_released", result.released),
    onError: (e) => error("stale_release", e),
  });
  progressTimer = setInterval(() => send({ type: "progress", index: init.index, counts: Object.fromEntries(counts) }), 10_000);
  runs = [...texters.values()].map((t) => t.run(at).catch((e) => error("texter", e)));
}

async function stop(): Promise<void> {
  stopping = true;
  for (const wake of [...wakeOnStop]) wake();
  clearInterval(providerTimer);
  clearInterval(progressTimer);
  await flushSends();
  await Promise.all(runs);
  await flushSends();
  clearInterval(sendsTimer);
  await flushing;
  await staleJob?.stop();
  const stats: WorkerStats = {
    histograms: Object.fromEntries([...histograms].map(([k, h]) => [k, h.toJSON()])),
    counts: Object.fromEntries(counts),
    errors: Object.fromEntries(errors),
    messages: Object.fromEntries([...messages].map(([k, v]) => [k, v.toJSON()])),
    claimQueue,
    lastJoinMs,
    slowRequests,
    joined: [...texters.values()].filter((t) => t.joined).length,
  };
  send({ type: "stopped", index: init.index, stats });
}

/** Catch the watcher up with everything committed, then compare every texter's ledger with the stored holders (SQL). */
async function verify(): Promise<void> {
  const head = await engine.getEventHead();
  const deadline = Date.now() + 120_000;
  while (watchedUpTo < head && Date.now() < deadline) {
    // The watcher may be idle at the head of what it was asked for (types filter): check the rest is past.
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${init.config.schema}.events WHERE seq > $1 AND seq <= $2 AND type = ANY($3::text[])`,
      [watchedUpTo, head, WATCHED],
    );
    if (Number(rows[0]!.n) === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  watchAbort.abort();
  await watching.catch(() => undefined);
  const ids = [...texters.keys()];
  const { rows } = await pool.query<{ campaign_id: string; seq: string; assignee: string }>(
    `SELECT campaign_id, seq, assignee FROM ${init.config.schema}.conversations WHERE campaign_id = ANY($1::text[]) AND assignee = ANY($2::text[])`,
    [[init.campaigns.A, init.campaigns.B], ids],
  );
  const stored = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = stored.get(r.assignee) ?? new Set<string>();
    set.add(`${r.campaign_id}:${r.seq}`);
    stored.set(r.assignee, set);
  }
  let mismatched = 0;
  let missing = 0;
  let extra = 0;
  let badCounts = 0;
  let heldByLedgers = 0;
  const samples: string[] = [];
  for (const t of texters.values()) {
    const db = stored.get(t.id) ?? new Set<string>();
    let wrong = false;
    for (const [id, n] of t.ledger) {
      if (n !== 0 && n !== 1) {
        badCounts++;
        wrong = true;
        if (samples.length < 10) samples.push(`${t.id}: ledger count ${n} for ${id}`);
      }
      if (n === 1) {
        heldByLedgers++;
        if (!db.has(id)) {
          extra++;
          wrong = true;
          if (samples.length < 10) samples.push(`${t.id}: ledger holds ${id}, database does not`);
        }
      }
    }
    for (const id of db) {
      if (t.ledger.get(id) !== 1) {
        missing++;
        wrong = true;
        if (samples.length < 10) samples.push(`${t.id}: database holds ${id}, ledger does not`);
      }
    }
    if (wrong) mismatched++;
  }
  const ledger: LedgerReport = { texters: texters.size, mismatchedTexters: mismatched, missing, extra, badCounts, heldByLedgers, heldInDatabase: rows.length, samples, eventsSeen };
  send({ type: "verified", index: init.index, ledger });
}

process.on("message", (message: ToWorker) => {
  const fail = (e: unknown) => {
    send({ type: "failed", index: init?.index ?? -1, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
    setTimeout(() => process.exit(1), 100);
  };
  switch (message.type) {
    case "init":
      start(message).catch(fail);
      break;
    case "start":
      go(message.t0);
      break;
    case "stop":
      stop().catch(fail);
      break;
    case "verify":
      verify().catch(fail);
      break;
    case "exit":
      pool.end().finally(() => process.exit(0));
      break;
  }
});

process.on("unhandledRejection", (e) => {
  send({ type: "failed", index: init?.index ?? -1, error: `unhandled: ${e instanceof Error ? `${e.message}\n${e.stack}` : String(e)}` });
  setTimeout(() => process.exit(1), 100);
});
// The orchestrator went away (Ctrl-C, a crash): do not linger.
process.on("disconnect", () => process.exit(0));

export type { ConversationStatus };

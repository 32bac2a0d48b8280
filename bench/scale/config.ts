/**
 * The knobs of `npm run bench:scale` (environment variables), with the full-size defaults of issue 14.
 * Smaller runs: SCALE_CONTACTS=200000 SCALE_TEXTERS=200 SCALE_PROCESSES=2 SCALE_SECONDS=60.
 */

function num(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

function choice<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!allowed.includes(raw as T)) throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  return raw as T;
}

/** Everything a run is shaped by; passed to every worker process as JSON. */
export interface ScaleConfig {
  /** Conversations imported into the big campaign. */
  readonly contacts: number;
  /** Conversations imported into the second campaign. */
  readonly contactsB: number;
  /** Contacts per `importContacts` call. */
  readonly importChunk: number;
  /** Simulated texters in all. */
  readonly texters: number;
  /** Share of texters who work on the second campaign. */
  readonly shareB: number;
  /** App-server processes (each an engine with its own pool through PgBouncer). */
  readonly processes: number;
  /** Every joiner clicks the invite link within this many seconds of kickoff (front-loaded). */
  readonly joinSeconds: number;
  /** Seconds of steady state after the join window. */
  readonly seconds: number;
  /** Batch size of both campaigns (S1). */
  readonly batch: number;
  /** Mean think time between a texter's actions, ms (jittered ±50%). */
  readonly thinkMs: number;
  /** Chance that a contact replies to a message. */
  readonly replyRate: number;
  /** Contact reply delay, ms: uniform in [min, max]. */
  readonly replyDelayMs: readonly [number, number];
  /** Chance that a first reply is an opt-out keyword (M3, O3). */
  readonly optOutRate: number;
  /** Share of texters who join and then walk away (their conversations go stale, T4). */
  readonly idleShare: number;
  /** T4: idle time before not-started and needs-reply conversations are released, ms (≥ 60,000). */
  readonly staleMs: number;
  /** How often every process runs stale release, ms. */
  readonly staleEveryMs: number;
  /** How texters refresh their actionable view (to learn of replies on conversations moved to them), ms. */
  readonly viewEveryMs: number;
  /** The admin's cadence during the peak, ms between operations. */
  readonly adminEveryMs: number;
  /** `pg.Pool` size per app-server process (client connections to PgBouncer). */
  readonly pool: number;
  /** The adapter's `maxConcurrentClaims` per process. */
  readonly claims: number;
  /** PgBouncer's server connections to PostgreSQL (`default_pool_size`). */
  readonly bouncerPool: number;
  /** How provider webhooks (contact replies) are recorded: in batches every this many ms per process (0: one call each). */
  readonly webhookFlushMs: number;
  /** How texters' own sends are recorded: `click` (one `recordMessages` with `actorId` per message) or `batched` (host-checked, coalesced per process). */
  readonly sends: "click" | "batched";
  /** Event watcher poll interval per process, ms. */
  readonly pollMs: number;
  /** How each process follows the event log: `poll` (readEvents every pollMs) or `watch` (engine.watchEvents). */
  readonly watcher: "poll" | "watch";
  /** Run `VACUUM ANALYZE` after the import (what an operator does after a bulk load). */
  readonly analyze: boolean;
  /** Load pg_stat_statements (restarts the throwaway server once) to report the costliest statements. */
  readonly profile: boolean;
  /** PostgreSQL's shared_buffers for the throwaway server. */
  readonly sharedBuffers: string;
  /** Schema. */
  readonly schema: string;
}

export function readConfig(): ScaleConfig {
  const contacts = Math.floor(num("SCALE_CONTACTS", 10_000_000, 1000));
  const texters = Math.floor(num("SCALE_TEXTERS", 2000, 2));
  const processes = Math.floor(num("SCALE_PROCESSES", 8, 1));
  return {
    contacts,
    contactsB: Math.floor(num("SCALE_CONTACTS_B", Math.max(1000, Math.floor(contacts / 10)), 1000)),
    importChunk: Math.floor(num("SCALE_IMPORT_CHUNK", 100_000, 1000)),
    texters,
    shareB: num("SCALE_SHARE_B", 0.1),
    processes,
    joinSeconds: num("SCALE_JOIN_SECONDS", 45, 1),
    seconds: num("SCALE_SECONDS", 240, 10),
    batch: Math.floor(num("SCALE_BATCH", 50, 1)),
    thinkMs: num("SCALE_THINK_MS", 800, 10),
    replyRate: num("SCALE_REPLY_RATE", 0.3),
    replyDelayMs: [num("SCALE_REPLY_MIN_MS", 5000), num("SCALE_REPLY_MAX_MS", 60_000)],
    optOutRate: num("SCALE_OPT_OUT_RATE", 0.02),
    idleShare: num("SCALE_IDLE", 0.03),
    staleMs: Math.max(60_000, num("SCALE_STALE_MS", 120_000)),
    staleEveryMs: Math.max(1000, num("SCALE_STALE_EVERY_MS", 60_000)),
    viewEveryMs: num("SCALE_VIEW_EVERY_MS", 60_000, 1000),
    adminEveryMs: num("SCALE_ADMIN_EVERY_MS", 5000, 100),
    pool: Math.floor(num("SCALE_POOL", 4, 1)),
    claims: Math.floor(num("SCALE_CLAIMS", 2, 1)),
    bouncerPool: Math.floor(num("SCALE_BOUNCER_POOL", 12, 1)),
    webhookFlushMs: num("SCALE_WEBHOOK_FLUSH_MS", 200),
    sends: choice("SCALE_SENDS", "batched", ["click", "batched"]),
    pollMs: num("SCALE_POLL_MS", 1000, 10),
    watcher: choice("SCALE_WATCHER", "poll", ["poll", "watch"]),
    analyze: num("SCALE_ANALYZE", 1) !== 0,
    profile: num("SCALE_PROFILE", 1) !== 0,
    sharedBuffers: /^\d+(kB|MB|GB)$/.test(process.env.SCALE_SHARED_BUFFERS ?? "") ? process.env.SCALE_SHARED_BUFFERS! : "2GB",
    schema: process.env.SCALE_SCHEMA ?? "scale",
  };
}

/** The texters: ids, which process runs each, which campaign each works on, who walks away. */
export interface TexterPlan {
  readonly id: string;
  readonly process: number;
  readonly campaign: "A" | "B";
  readonly idle: boolean;
  /** Milliseconds after kickoff when they click the invite link. */
  readonly joinAtMs: number;
}

/** A deterministic plan (seeded), so runs with the same knobs are comparable. */
export function planTexters(config: ScaleConfig, seed = 14): TexterPlan[] {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const plans: TexterPlan[] = [];
  for (let i = 0; i < config.texters; i++) {
    const u = random();
    plans.push({
      id: `texter-${String(i).padStart(5, "0")}`,
      process: i % config.processes,
      campaign: random() < config.shareB ? "B" : "A",
      idle: random() < config.idleShare,
      // Front-loaded: the kickoff call ends with "click the link" and most click at once.
      joinAtMs: Math.round(u * u * config.joinSeconds * 1000),
    });
  }
  return plans;
}

/**
 * The scale run's figures in the shared report format (bench/lib/report.ts) that `npm run bench:docs`
 * renders into docs/benchmarks.md: tables and targets up front, every detail under `raw`.
 */
import type { Machine, Report, Table, Target } from "../lib/report.js";
import type { ScaleConfig } from "./config.js";

type Summary = { count: number; p50_ms: number | null; p99_ms: number | null; p999_ms: number | null; max_ms: number | null };

/** The detailed report main.ts composes (only what the tables read is typed here). */
export interface Detailed {
  readonly config: ScaleConfig;
  readonly postgres_settings: Record<string, string>;
  readonly targets: readonly Target[];
  readonly import: { conversations: number; seconds: number; per_s: number; vacuum_analyze_seconds: number | null; table_gb: number; index_gb: number };
  readonly joins: Summary & { joined: number; errors: number; last_join_after_s: number };
  readonly requests: Summary & { over_250_ms: { count: number; during_admin_writes: number } };
  readonly messages: {
    steady_state: { mean_per_s: number; min_10s_per_s: number; median_10s_per_s: number };
    by_kind_per_s: Record<string, number>;
    send_click: Summary;
    send_batch: Summary;
    webhook_batch: Summary;
  };
  readonly views: Summary;
  readonly events_read: Summary;
  readonly stale_release: { runs: Summary; released: number };
  readonly admin: Summary & { without_overview: Summary; by_operation: Record<string, Summary> };
  readonly connections: Record<string, unknown> & {
    postgres_client_connections_max: number;
    postgres_active_mean: number;
    bouncer_clients_waiting_max: number;
    bouncer_clients_waiting_mean: number;
    active_backend_waits: Record<string, number>;
  };
  readonly pgbouncer: { transactions_per_s: number; queries_per_s: number; mean_client_wait_for_server_ms: number; mean_transaction_ms: number } | null;
  readonly cpu: { steady_state: { trees: Record<string, { cores: number; share_of_ours: number }>; machine_busy_cores: number; others_cores: number } | null };
  readonly statements: { top: { query: string; calls: number; share: number; mean_ms: number }[] } | null;
  readonly checks: {
    ledgers: { texters: number; mismatched_texters: number; held_by_ledgers: number; held_in_database: number };
    campaigns: {
      campaignId: string;
      rows: number;
      imported: number;
      held: number;
      heldByNonSenders: number;
      duplicateContacts: number;
      replay: { events: number; ok: boolean; mismatches: number };
      statusReplay: { events: number; mismatches: number };
    }[];
  };
}

const row = (name: string, s: Summary): (string | number | null)[] => [name, s.count, s.p50_ms, s.p99_ms, s.p999_ms, s.max_ms];
/** SQL in a markdown table cell: pipes escaped, whitespace folded, shortened. */
const sql = (q: string) => q.replace(/\s+/g, " ").replaceAll("|", "\\|").slice(0, 110);

export function sharedReport(d: Detailed, meta: { command: string; date: string; seconds: number; machine: Machine }): Report {
  const c = d.config;
  const latency: Table = {
    title: "Latency by operation (whole run: join rush and steady state), ms",
    columns: ["operation", "count", "p50", "p99", "p99.9", "max"],
    rows: [
      row("joinByInvite (the rush)", d.joins),
      row("requestConversations", d.requests),
      ...(d.messages.send_click.count > 0 ? [row("recordMessages, one per click (texter as actor)", d.messages.send_click)] : []),
      ...(d.messages.send_batch.count > 0 ? [row("recordMessages, texters' sends coalesced per app server", d.messages.send_batch)] : []),
      row("recordMessages, provider webhooks coalesced per app server", d.messages.webhook_batch),
      row("getAssignments (a texter's view)", d.views),
      row("readEvents (each app server's event poll)", d.events_read),
      row("releaseStale (every app server)", d.stale_release.runs),
      ...Object.entries(d.admin.by_operation).map(([op, s]) => row(`admin: ${op}`, s)),
    ],
    note: `Requests over 250 ms: ${d.requests.over_250_ms.count}, of which ${d.requests.over_250_ms.during_admin_writes} overlapped an admin write (pause … resume, a reassignment).`,
  };
  const throughput: Table = {
    title: "Throughput, steady state",
    columns: ["what", "per second"],
    rows: [
      ["message events recorded, mean", d.messages.steady_state.mean_per_s],
      ["message events recorded, lowest 10 s window", d.messages.steady_state.min_10s_per_s],
      ...Object.entries(d.messages.by_kind_per_s).map(([k, v]): [string, number] => [`  of which ${k.replaceAll("_", " ")}`, v]),
      ["PgBouncer transactions", d.pgbouncer?.transactions_per_s ?? null],
      ["PgBouncer statements", d.pgbouncer?.queries_per_s ?? null],
    ],
  };
  const cpu: Table | null =
    d.cpu.steady_state === null
      ? null
      : {
          title: "CPU by process tree, steady state (from /proc)",
          columns: ["process tree", "cores", "share of this run's CPU"],
          rows: [
            ...Object.entries(d.cpu.steady_state.trees).map(([k, v]): [string, number, string] => [k.replaceAll("_", " "), v.cores, `${Math.round(v.share_of_ours * 100)}%`]),
            ["other work on the machine", d.cpu.steady_state.others_cores, "—"],
            ["machine busy", d.cpu.steady_state.machine_busy_cores, "—"],
          ],
        };
  const connections: Table = {
    title: "Connections and waits, steady state",
    columns: ["what", "value"],
    rows: [
      ["PostgreSQL client connections, most", d.connections.postgres_client_connections_max],
      ["PostgreSQL backends running a statement, mean", d.connections.postgres_active_mean],
      ["app-server connections to PgBouncer", c.processes * c.pool + 4],
      ["PgBouncer clients waiting for a server connection, most / mean", `${d.connections.bouncer_clients_waiting_max} / ${d.connections.bouncer_clients_waiting_mean}`],
      ["PgBouncer mean wait for a server connection, ms", d.pgbouncer?.mean_client_wait_for_server_ms ?? null],
      ["PgBouncer mean transaction (server connection held), ms", d.pgbouncer?.mean_transaction_ms ?? null],
      ...Object.entries(d.connections.active_backend_waits)
        .slice(0, 4)
        .map(([k, v]): [string, string] => [`running backends sampled in ${k}`, `${Math.round(v * 100)}%`]),
    ],
  };
  const statements: Table | null =
    d.statements === null
      ? null
      : {
          title: "Costliest statements, steady state (pg_stat_statements: share of execution time)",
          columns: ["share", "calls", "mean ms", "statement"],
          rows: d.statements.top.slice(0, 10).map((s) => [`${Math.round(s.share * 1000) / 10}%`, s.calls, s.mean_ms, sql(s.query)]),
        };
  const checks: Table = {
    title: "Checks at the end (plain SQL; the event log replayed)",
    columns: ["campaign", "conversations", "held", "held by non-senders", "contacts twice", "holder events replayed", "replay = stored", "status events", "status mismatches"],
    rows: d.checks.campaigns.map((x, i) => [
      i === 0 ? "A (the big one)" : "B",
      x.rows,
      x.held,
      x.heldByNonSenders,
      x.duplicateContacts,
      x.replay.events,
      x.replay.ok ? "yes" : "NO",
      x.statusReplay.events,
      x.statusReplay.mismatches,
    ]),
    note: `Ledgers: ${d.checks.ledgers.texters} texters' client-side ledgers against the database, ${d.checks.ledgers.mismatched_texters} differ; ${d.checks.ledgers.held_by_ledgers} conversations held by ledgers, ${d.checks.ledgers.held_in_database} in the database.`,
  };
  const setup: Table = {
    title: "Set-up and import",
    columns: ["what", "value"],
    rows: [
      ["conversations imported (two campaigns)", d.import.conversations],
      ["import, s (importContacts, 100,000 contacts per call, both campaigns at once)", d.import.seconds],
      ["import, conversations/s", d.import.per_s],
      ["VACUUM ANALYZE after the import, s", d.import.vacuum_analyze_seconds],
      ["conversations + contact keys: table / indexes, GB", `${d.import.table_gb} / ${d.import.index_gb}`],
      ["app servers × pool (maxConcurrentClaims)", `${c.processes} × ${c.pool} (${c.claims})`],
      ["PgBouncer server connections (transaction pooling)", c.bouncerPool],
      ["texters (on the second campaign; walking away)", `${c.texters} (${Math.round(c.shareB * 100)}%; ${Math.round(c.idleShare * 100)}%)`],
      ["PostgreSQL settings", Object.entries(d.postgres_settings).filter(([k]) => k !== "shared_preload_libraries").map(([k, v]) => `${k} ${v}`).join(", ")],
      ["texters' sends recorded", c.sends === "click" ? "one recordMessages per click, texter as actor" : `coalesced per app server every ${c.webhookFlushMs} ms`],
    ],
  };
  const notes = [
    `Knobs: SCALE_CONTACTS=${c.contacts}, SCALE_TEXTERS=${c.texters}, SCALE_PROCESSES=${c.processes}, SCALE_SECONDS=${c.seconds} (steady state after a ${c.joinSeconds} s join window), batch ${c.batch}, think ${c.thinkMs} ms, replies ${Math.round(c.replyRate * 100)}%, stale release after ${c.staleMs / 1000} s, every ${c.staleEveryMs / 1000} s in every app server. What each figure means and why these settings: docs/scaling.md.`,
    ...(d.targets.find((t) => t.name.startsWith("admin"))?.met === false && d.admin.by_operation.getOverview !== undefined
      ? [
          `Admin: every operation but the overview has p99 ${d.admin.without_overview.p99_ms} ms; getOverview counts every conversation of the campaign in one scan (p50 ${d.admin.by_operation.getOverview.p50_ms} ms, alternating between the ${(c.contacts / 1e6).toLocaleString("en-US")} M and the ${(c.contactsB / 1e6).toLocaleString("en-US")} M campaign), so it grows with the campaign — docs/scaling.md, "Where the next limits are".`,
        ]
      : []),
    ...(c.sends === "batched"
      ? ["Texters' sends are coalesced by each app server into one recordMessages call per campaign (no actorId: recordMessages takes one actor per call, so the holder check a per-click call makes is not made; see docs/scaling.md)."]
      : []),
  ];
  return {
    title: `Scale: ${c.texters.toLocaleString("en-US")} texters, ${c.processes} app servers, PgBouncer, one PostgreSQL, ${(d.import.conversations / 1e6).toLocaleString("en-US", { maximumFractionDigits: 2 })} million conversations`,
    command: meta.command,
    date: meta.date,
    machine: meta.machine,
    load: `${c.texters} simulated texters in ${c.processes} app-server processes, each an engine with a pool of ${c.pool} through PgBouncer (transaction pooling, ${c.bouncerPool} server connections); one run, no rounds: the figures are that run's.`,
    rounds: 1,
    seconds: meta.seconds,
    tables: [setup, latency, throughput, ...(cpu === null ? [] : [cpu]), connections, ...(statements === null ? [] : [statements]), checks],
    targets: d.targets,
    notes,
    raw: d,
  };
}

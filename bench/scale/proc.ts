/**
 * CPU accounting from /proc (Linux): the CPU time of a process tree is, over its live processes,
 * utime + stime + cutime + cstime (children that exited were added to their parent's c-times when
 * reaped, so short-lived backends and autovacuum workers count too). Sampled at the start and end of a
 * window, the difference is the CPU seconds that tree used in it. Also the whole machine's busy time
 * from /proc/stat (the machine is shared: what others used shows up as the rest).
 */
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

let ticks = 100;
try {
  ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  /* keep 100 */
}

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, seconds. */
  cpu: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    const n = (field: number) => Number(f[field - 3]);
    return { pid, ppid: n(4), comm, cpu: (n(14) + n(15) + n(16) + n(17)) / ticks };
  } catch {
    return null;
  }
}

function allStats(): Stat[] {
  const out: Stat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s !== null) out.push(s);
  }
  return out;
}

/** CPU seconds used so far by each named tree (roots given by pid), and the machine's busy seconds. */
export function sampleCpu(roots: Record<string, readonly number[]>): { trees: Record<string, number>; machineBusy: number; machineTotal: number; at: number } {
  const stats = allStats();
  const children = new Map<number, Stat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const trees: Record<string, number> = {};
  // A tree stops where another named tree starts (the orchestrator's tree does not include the workers).
  const allRoots = new Set(Object.values(roots).flat());
  for (const [name, pids] of Object.entries(roots)) {
    let total = 0;
    const seen = new Set<number>();
    const stack = pids.filter((p) => byPid.has(p));
    while (stack.length > 0) {
      const pid = stack.pop()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      total += byPid.get(pid)!.cpu;
      for (const c of children.get(pid) ?? []) if (!allRoots.has(c.pid)) stack.push(c.pid);
    }
    trees[name] = total;
  }
  const cpuLine = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (cpuLine[3] ?? 0) + (cpuLine[4] ?? 0);
  const total = cpuLine.slice(0, 8).reduce((a, b) => a + b, 0);
  return { trees, machineBusy: (total - idle) / ticks, machineTotal: total / ticks, at: Date.now() };
}

/** The difference of two samples: CPU seconds per tree and as cores (seconds per wall second). */
export function cpuBetween(a: ReturnType<typeof sampleCpu>, b: ReturnType<typeof sampleCpu>) {
  const wall = (b.at - a.at) / 1000;
  const trees: Record<string, { cpu_s: number; cores: number; share_of_ours: number }> = {};
  let ours = 0;
  for (const name of Object.keys(b.trees)) ours += Math.max(0, b.trees[name]! - (a.trees[name] ?? 0));
  for (const name of Object.keys(b.trees)) {
    const used = Math.max(0, b.trees[name]! - (a.trees[name] ?? 0));
    trees[name] = { cpu_s: round(used), cores: round(used / wall), share_of_ours: round(ours === 0 ? 0 : used / ours) };
  }
  const busy = b.machineBusy - a.machineBusy;
  return {
    wall_s: round(wall),
    trees,
    machine_busy_cores: round(busy / wall),
    machine_cores: round((b.machineTotal - a.machineTotal) / wall),
    others_cores: round(Math.max(0, busy - ours) / wall),
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

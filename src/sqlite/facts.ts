/**
 * The fact log: the `events` table. Facts are written inside the step that caused them (so a rolled
 * back step leaves none) and numbered by SQLite's AUTOINCREMENT at commit order — one writer at a
 * time, so a position is never given below one a reader may already have seen. Named consumers keep
 * their positions in `consumers`; pruning deletes only what every consumer has read.
 * @module
 */
import type { Fact, FactQuery, FactRecord } from "../adapter.js";
import { type Connection, jsonList } from "./database.js";

/** Record facts in the current step. */
export function recordFacts(c: Connection, facts: readonly Fact[]): void {
  if (facts.length > 0) c.factsRecorded();
  for (const f of facts) {
    c.run(
      "INSERT INTO events (type, at, org_id, campaign_id, actor_id, actor_type, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
      f.type,
      f.at,
      f.orgId,
      f.campaignId,
      f.actorId,
      f.actorType,
      JSON.stringify(f.data),
    );
  }
}

interface EventRow {
  seq: number;
  type: string;
  at: number;
  org_id: string;
  campaign_id: string | null;
  actor_id: string | null;
  actor_type: string;
  data: string;
}

/** Facts after `after`, oldest first, filtered by organization, campaign and type (each an indexed condition). */
export function readFacts(c: Connection, q: FactQuery): FactRecord[] {
  const where = ["seq > ?"];
  const params: unknown[] = [q.after];
  if (q.orgId !== undefined) {
    where.push("org_id = ?");
    params.push(q.orgId);
  }
  if (q.campaignId !== undefined) {
    where.push("campaign_id = ?");
    params.push(q.campaignId);
  }
  if (q.types !== undefined) {
    where.push("type IN (SELECT value FROM json_each(?))");
    params.push(jsonList(q.types));
  }
  const rows = c.all<EventRow>(`SELECT seq, type, at, org_id, campaign_id, actor_id, actor_type, data FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`, ...params, q.limit);
  return rows.map(
    (r) => ({ seq: r.seq, type: r.type, at: r.at, orgId: r.org_id, campaignId: r.campaign_id, actorId: r.actor_id, actorType: r.actor_type, data: JSON.parse(r.data) as unknown }) as FactRecord,
  );
}

/** The newest position ever given (AUTOINCREMENT's counter: pruning never lowers it), 0 when none. */
export function factHead(c: Connection): number {
  return c.one<{ n: number }>("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0) AS n")!.n;
}

/** A named consumer's stored position, 0 when it never saved one. */
export function readConsumer(c: Connection, name: string): number {
  return c.one<{ position: number }>("SELECT position FROM consumers WHERE name = ?", name)?.position ?? 0;
}

/** Store a consumer's position; positions only move forward. */
export function saveConsumer(c: Connection, name: string, position: number): void {
  c.run("INSERT INTO consumers (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)", name, position);
}

/** Delete facts at or below `upTo` and at or below every consumer's position; returns how many. */
export function pruneFacts(c: Connection, upTo: number): number {
  return c.run("DELETE FROM events WHERE seq <= min(?, coalesce((SELECT min(position) FROM consumers), ?))", upTo, upTo);
}

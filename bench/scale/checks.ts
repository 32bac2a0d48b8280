/**
 * The end-of-run checks, in plain SQL against the stored rows (not through the adapter's reads), plus
 * the event log replayed (selfassign/testing's replay) and compared with the stored holders:
 *
 * - I1: no conversation held by two texters — no contact stored twice, every `assigned`/`reassigned`
 *   event in the log took a conversation nobody held (the replay refuses any that did), and every
 *   texter's ledger equals the database (the workers check theirs), so no two ledgers share one;
 * - I2, conservation: every campaign has exactly the conversations imported (rows, contact keys and
 *   the numbering agree), every holder is a sender of the campaign, and the engine's overview adds up
 *   to the SQL counts;
 * - events: the log replays to the stored holders, and its status changes to the stored statuses.
 */
import type pg from "pg";
import type { Engine } from "../../src/index.js";
import { readAllEvents, replayHolders } from "../../src/testing/event-replay.js";
import { CONVERSATION_STATUSES, type ConversationStatus, type SelfAssignEvent } from "../../src/types.js";

export interface CampaignCheck {
  readonly campaignId: string;
  readonly imported: number;
  readonly rows: number;
  readonly contactKeys: number;
  readonly nextSeq: number;
  readonly duplicateContacts: number;
  readonly held: number;
  readonly unassigned: number;
  readonly heldByNonSenders: number;
  readonly overviewTotal: number;
  readonly overviewUnassigned: number;
  readonly overviewHeld: number;
  readonly sqlOpenUnassigned: number;
  readonly sqlOpenHeld: number;
  readonly replay: { readonly events: number; readonly ok: boolean; readonly error: string | null; readonly mismatches: number; readonly samples: readonly string[] };
  readonly statusReplay: { readonly events: number; readonly mismatches: number; readonly samples: readonly string[] };
  readonly byStatus: Record<string, number>;
}

export async function checkCampaign(db: pg.Pool, schema: string, engine: Engine, campaignId: string, imported: number): Promise<CampaignCheck> {
  const one = async (sql: string) => Number((await db.query<{ n: string }>(sql, [campaignId])).rows[0]!.n);
  const rows = await one(`SELECT count(*) AS n FROM ${schema}.conversations WHERE campaign_id = $1`);
  const contactKeys = await one(`SELECT count(*) AS n FROM ${schema}.campaign_contacts WHERE campaign_id = $1`);
  const nextSeq = await one(`SELECT next_seq AS n FROM ${schema}.campaigns WHERE id = $1`);
  const duplicateContacts = await one(
    `SELECT count(*) AS n FROM (SELECT contact_id FROM ${schema}.conversations WHERE campaign_id = $1 GROUP BY contact_id HAVING count(*) > 1) d`,
  );
  const heldByNonSenders = await one(
    `SELECT count(*) AS n FROM ${schema}.conversations c WHERE c.campaign_id = $1 AND c.assignee IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM ${schema}.campaign_senders s WHERE s.campaign_id = c.campaign_id AND s.user_id = c.assignee)`,
  );
  const statusRows = (
    await db.query<{ status: number; held: boolean; n: string }>(
      `SELECT status, assignee IS NOT NULL AS held, count(*) AS n FROM ${schema}.conversations WHERE campaign_id = $1 GROUP BY 1, 2`,
      [campaignId],
    )
  ).rows;
  const byStatus: Record<string, number> = {};
  let held = 0;
  let unassigned = 0;
  let sqlOpenHeld = 0;
  let sqlOpenUnassigned = 0;
  const OPTED = CONVERSATION_STATUSES.indexOf("opted_out");
  for (const r of statusRows) {
    const name = CONVERSATION_STATUSES[r.status]!;
    byStatus[name] = (byStatus[name] ?? 0) + Number(r.n);
    if (r.held) held += Number(r.n);
    else unassigned += Number(r.n);
    if (r.status !== OPTED) {
      if (r.held) sqlOpenHeld += Number(r.n);
      else sqlOpenUnassigned += Number(r.n);
    }
  }
  const overview = await engine.getOverview({ actorId: "admin", campaignId });
  const overviewHeld = overview.senders.reduce((n, s) => n + s.held, 0);

  // The holders the event log describes, against the stored ones (both directions).
  const holderEvents = await readAllEvents((after, limit) =>
    engine.readEvents({ after, limit, campaignId, types: ["conversations.assigned", "conversations.unassigned", "conversations.reassigned"] }),
  );
  let replayed: Map<string, string | null> | null = null;
  let replayError: string | null = null;
  try {
    replayed = replayHolders(holderEvents, campaignId);
  } catch (error) {
    replayError = (error as Error).message;
  }
  const stored = new Map<string, string>();
  for (const r of (await db.query<{ seq: string; assignee: string }>(`SELECT seq, assignee FROM ${schema}.conversations WHERE campaign_id = $1 AND assignee IS NOT NULL`, [campaignId])).rows) {
    stored.set(`${campaignId}:${r.seq}`, r.assignee);
  }
  let mismatches = 0;
  const samples: string[] = [];
  const note = (s: string) => {
    mismatches++;
    if (samples.length < 10) samples.push(s);
  };
  if (replayed !== null) {
    for (const [id, holder] of stored) if (replayed.get(id) !== holder) note(`${id}: stored ${holder}, events say ${replayed.get(id) ?? null}`);
    for (const [id, holder] of replayed) if (holder !== null && stored.get(id) !== holder) note(`${id}: events say ${holder}, stored ${stored.get(id) ?? null}`);
  }

  // Statuses: the last status change (or opt-out) each conversation's events describe, against the stored one.
  const statusEvents: SelfAssignEvent[] = await readAllEvents((after, limit) =>
    engine.readEvents({ after, limit, campaignId, types: ["conversation.status_changed"] }),
  );
  const optOuts = await readAllEvents((after, limit) => engine.readEvents({ after, limit, types: ["contact.opted_out"] }));
  const last = new Map<string, { seq: number; status: ConversationStatus }>();
  for (const e of [...statusEvents, ...optOuts].sort((a, b) => a.seq - b.seq)) {
    if (e.type === "conversation.status_changed") last.set(e.data.conversationId, { seq: e.seq, status: e.data.to });
    else if (e.type === "contact.opted_out") for (const id of e.data.conversationIds) if (id.startsWith(`${campaignId}:`)) last.set(id, { seq: e.seq, status: "opted_out" });
  }
  let statusMismatches = 0;
  const statusSamples: string[] = [];
  const touched = (await db.query<{ seq: string; status: number }>(`SELECT seq, status FROM ${schema}.conversations WHERE campaign_id = $1 AND status <> 0`, [campaignId])).rows;
  const storedStatus = new Map(touched.map((r) => [`${campaignId}:${r.seq}`, CONVERSATION_STATUSES[r.status]!]));
  for (const [id, s] of storedStatus) {
    if (last.get(id)?.status !== s) {
      statusMismatches++;
      if (statusSamples.length < 10) statusSamples.push(`${id}: stored ${s}, events say ${last.get(id)?.status ?? "not_started"}`);
    }
  }
  for (const [id, e] of last) {
    if (!storedStatus.has(id) && e.status !== "not_started") {
      statusMismatches++;
      if (statusSamples.length < 10) statusSamples.push(`${id}: stored not_started, events say ${e.status}`);
    }
  }

  return {
    campaignId,
    imported,
    rows,
    contactKeys,
    nextSeq,
    duplicateContacts,
    held,
    unassigned,
    heldByNonSenders,
    overviewTotal: overview.total,
    overviewUnassigned: overview.unassigned,
    overviewHeld,
    sqlOpenUnassigned,
    sqlOpenHeld,
    replay: { events: holderEvents.length, ok: replayError === null && mismatches === 0, error: replayError, mismatches, samples },
    statusReplay: { events: statusEvents.length + optOuts.length, mismatches: statusMismatches, samples: statusSamples },
    byStatus,
  };
}

/** Every check of a campaign passed. */
export function campaignOk(c: CampaignCheck): boolean {
  return (
    c.rows === c.imported &&
    c.contactKeys === c.imported &&
    c.nextSeq === c.imported &&
    c.duplicateContacts === 0 &&
    c.held + c.unassigned === c.rows &&
    c.heldByNonSenders === 0 &&
    c.overviewTotal === c.rows &&
    c.overviewUnassigned === c.sqlOpenUnassigned &&
    c.overviewHeld === c.sqlOpenHeld &&
    c.replay.ok &&
    c.statusReplay.mismatches === 0
  );
}

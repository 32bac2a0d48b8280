/**
 * The bulk-send rule (C6) with a counter: while a bulk send runs, `campaigns.bulk_pending` counts the
 * campaign's `not_started` conversations. Every step that takes conversations out of `not_started`
 * counts them off under the campaign row's lock (the row lock serializes the counting, so of
 * concurrent steps the last one sees 0) and, when nothing is left, finishes the bulk send in the same
 * transaction. It is the one aggregate write made under the campaign's shared lock: it runs inside
 * acknowledgements, status changes and opt-outs, and it only widens what a claim may take.
 * @module
 */
import { finishBulkSend } from "../../core/campaign.js";
import type { Campaign } from "../../types.js";
import type { PgClientLike } from "../pg-like.js";
import { loadCampaign, writeCampaign } from "./aggregates.js";
import { insertFacts } from "./facts.js";
import { statusCode } from "../../storage/rules.js";

/** What settling did: the pending count left (0 when no bulk send is counted) and the campaign when it finished. */
export interface Settled {
  /** Pending initial messages left. */
  readonly pending: number;
  /** The campaign as stored after finishing its bulk send, or `null` when this step did not finish it. */
  readonly finished: Campaign | null;
}

/**
 * `sent` conversations of the campaign just stopped being pending (inside the caller's transaction):
 * count them off and, when nothing is left, store `finishBulkSend(campaign, now)` and its facts.
 */
export async function settleBulkSend(client: PgClientLike, schema: string, campaignId: string, sent: number, now: number): Promise<Settled> {
  const { rows } = await client.query<{ bulk_pending: string }>(
    `UPDATE ${schema}.campaigns SET bulk_pending = bulk_pending - $2 WHERE id = $1 AND bulk_pending IS NOT NULL RETURNING bulk_pending`,
    [campaignId, sent],
  );
  if (rows[0] === undefined) return { pending: 0, finished: null };
  const pending = Number(rows[0].bulk_pending);
  if (pending > 0) return { pending, finished: null };
  const campaign = (await loadCampaign(client, schema, campaignId))!;
  const d = finishBulkSend(campaign, now);
  await client.query(`UPDATE ${schema}.campaigns SET bulk_pending = NULL WHERE id = $1`, [campaignId]);
  if (d.state === campaign) return { pending: 0, finished: null };
  await writeCampaign(client, schema, d.state);
  await insertFacts(client, schema, d.facts);
  return { pending: 0, finished: d.state };
}

/** Start counting a bulk send's pending initial messages (at launch), then settle it: a launch with nothing to send finishes at once. */
export async function startBulkSend(client: PgClientLike, schema: string, campaignId: string, now: number): Promise<Settled> {
  const { rowCount } = await client.query(
    `UPDATE ${schema}.campaigns SET bulk_pending = (SELECT count(*) FROM ${schema}.conversations WHERE campaign_id = $1 AND status = ${statusCode("not_started")})
     WHERE id = $1 AND bulk_pending IS NULL`,
    [campaignId],
  );
  return (rowCount ?? 0) > 0 ? settleBulkSend(client, schema, campaignId, 0, now) : { pending: 0, finished: null };
}

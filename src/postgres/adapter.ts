/**
 * The PostgreSQL storage adapter: one file per SQL operation under `sql/`, composed here. Several
 * app servers can share one database; every guarantee of the contract holds across them because it is
 * enforced inside PostgreSQL transactions and row locks, not in process memory.
 * @module
 */
import { availableParallelism } from "node:os";
import type {
  AcknowledgeOutcome,
  AcknowledgeRequest,
  LeaseOutcome,
  LeaseRequest,
  StaleReleaseRequest,
  CampaignCommit,
  CampaignWithOrganization,
  ClaimOutcome,
  ClaimRequest,
  CommitOutcome,
  ImportOutcome,
  ImportRequest,
  ListQuery,
  OptOutOutcome,
  OptOutRequest,
  ReleaseOutcome,
  ReleaseRequest,
  StatusChange,
  StatusOutcome,
  StorageAdapter,
} from "../storage/contract.js";
import type { Campaign, Conversation, ConversationsOverview, EventDraft, Organization, SelfAssignEvent } from "../types.js";
import type { PgPoolLike } from "./pg-like.js";
import {
  insertCampaignRow,
  listCampaigns,
  loadCampaign,
  loadCampaignWithOrganization,
  loadOrganization,
  syncMembers,
} from "./sql/aggregates.js";
import { commitCampaign } from "./sql/commit-campaign.js";
import { optOut, recordStatus, release, releaseStale } from "./sql/conversation-writes.js";
import { acknowledgeEvents, insertEvents, readEvents } from "./sql/events.js";
import { importConversations } from "./sql/import-conversations.js";
import { migrate } from "./sql/migrations.js";
import * as reads from "./sql/reads.js";
import { quoteSchema } from "./sql/schema-name.js";
import { acknowledgeInitialSends, leaseInitialSends } from "./sql/bulk-send.js";
import { ClaimQueue } from "./sql/group-claim.js";
import { transaction } from "./sql/transaction.js";

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /** A `pg.Pool` (or anything shaped like {@link PgPoolLike}). Size it at 2–4× the cores of the database host. */
  readonly pool: PgPoolLike;
  /** Schema for the tables; default `selfassign`. Letters, digits, underscores. */
  readonly schema?: string;
  /**
   * Most claims this process runs at once (others wait their turn in memory). Default: twice the
   * cores of this machine, at least 2. Many more concurrent claims than cores make PostgreSQL slower,
   * not faster (see docs/postgres.md).
   */
  readonly maxConcurrentClaims?: number;
  /**
   * Most waiting claims (on one campaign, by different texters) served by one transaction; default
   * 16. `1` turns grouping off. Grouping shares the round trips and the commit among claims that
   * would otherwise queue for a slot; each keeps every guarantee of a single claim.
   */
  readonly maxClaimGroup?: number;
}

/** Result of {@link PostgresStorage.migrate}. */
export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: number[];
}

/** The PostgreSQL adapter: the storage contract plus migrations and the event outbox. */
export interface PostgresStorage extends StorageAdapter {
  /** The quoted schema name used in every statement. */
  readonly schema: string;
  /** Create or upgrade the tables (idempotent, versioned, safe to run from several processes at once). */
  migrate(): Promise<MigrateResult>;
  /**
   * Acknowledge outbox events up to position `upTo`: mark them (default) or, with `prune: true`,
   * delete them. Returns how many rows were affected.
   */
  acknowledgeEvents(upTo: number, options?: { prune?: boolean }): Promise<number>;
}

/**
 * Create the PostgreSQL adapter over a pool. Call `migrate()` once at start-up.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { createEngine } from "selfassign";
 * import { createPostgresStorage } from "selfassign/postgres";
 *
 * const storage = createPostgresStorage({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 }) });
 * await storage.migrate();
 * const engine = createEngine({ storage });
 * ```
 */
export function createPostgresStorage(options: PostgresStorageOptions): PostgresStorage {
  if (typeof options !== "object" || options === null || typeof options.pool?.connect !== "function") {
    throw new TypeError("createPostgresStorage needs { pool }: a pg.Pool or a compatible object.");
  }
  const limit = options.maxConcurrentClaims ?? Math.max(2, 2 * availableParallelism());
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError("maxConcurrentClaims must be a whole number ≥ 1.");
  const group = options.maxClaimGroup ?? 16;
  if (!Number.isInteger(group) || group < 1) throw new TypeError("maxClaimGroup must be a whole number ≥ 1.");
  const schema = quoteSchema(options.schema ?? "selfassign");
  guardIdleErrors(options.pool);
  return new PostgresAdapter(options.pool, schema, new ClaimQueue(options.pool, schema, limit, group));
}

const guardedPools = new WeakSet<object>();

/**
 * A `pg.Pool` emits `error` when the backend of an idle pooled connection dies (failover, restart,
 * `pg_terminate_backend`, an idle timeout on the server or a proxy). The pool has already dropped that
 * connection and the next checkout opens a new one, so there is nothing to do; but an EventEmitter
 * `error` with no listener throws and crashes the host process. Add one listener per pool that ignores
 * it (the host's own listeners, added before or after, still hear every error).
 */
function guardIdleErrors(pool: PgPoolLike): void {
  if (typeof pool.on !== "function" || guardedPools.has(pool)) return;
  guardedPools.add(pool);
  pool.on("error", ignorePoolError);
}

function ignorePoolError(): void {
  // The pool already removed the dead idle connection; see guardIdleErrors.
}

class PostgresAdapter implements PostgresStorage {
  constructor(
    private readonly pool: PgPoolLike,
    readonly schema: string,
    private readonly claims: ClaimQueue,
  ) {}

  migrate(): Promise<MigrateResult> {
    return migrate(this.pool, this.schema);
  }

  acknowledgeEvents(upTo: number, options: { prune?: boolean } = {}): Promise<number> {
    if (!Number.isInteger(upTo) || upTo < 0) throw new TypeError("upTo must be a whole number ≥ 0.");
    return acknowledgeEvents(this.pool, this.schema, upTo, options.prune === true);
  }

  async insertOrganization(org: Organization, events: readonly EventDraft[]): Promise<"ok" | "exists"> {
    return transaction(this.pool, async (client) => {
      const r = await client.query(
        `INSERT INTO ${this.schema}.organizations (id, name, version, default_batch_size, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [org.id, org.name, org.version, org.defaultBatchSize, org.createdAt],
      );
      if (r.rowCount === 0) return "exists" as const;
      await syncMembers(client, this.schema, org);
      await insertEvents(client, this.schema, events);
      return "ok" as const;
    });
  }

  getOrganization(orgId: string): Promise<Organization | null> {
    return loadOrganization(this.pool, this.schema, orgId);
  }

  async updateOrganization(next: Organization, expectedVersion: number, events: readonly EventDraft[]): Promise<"ok" | "conflict"> {
    return transaction(this.pool, async (client) => {
      const r = await client.query(
        `UPDATE ${this.schema}.organizations SET name = $3, version = $4, default_batch_size = $5 WHERE id = $1 AND version = $2`,
        [next.id, expectedVersion, next.name, next.version, next.defaultBatchSize],
      );
      if (r.rowCount === 0) return "conflict" as const;
      await syncMembers(client, this.schema, next);
      await insertEvents(client, this.schema, events);
      return "ok" as const;
    });
  }

  async insertCampaign(campaign: Campaign, events: readonly EventDraft[]): Promise<"ok" | "exists"> {
    return transaction(this.pool, async (client) => {
      if (!(await insertCampaignRow(client, this.schema, campaign))) return "exists" as const;
      await insertEvents(client, this.schema, events);
      return "ok" as const;
    });
  }

  getCampaign(campaignId: string): Promise<Campaign | null> {
    return loadCampaign(this.pool, this.schema, campaignId);
  }

  getCampaignWithOrganization(campaignId: string): Promise<CampaignWithOrganization | null> {
    return loadCampaignWithOrganization(this.pool, this.schema, campaignId);
  }

  listCampaigns(orgId: string): Promise<readonly Campaign[]> {
    return listCampaigns(this.pool, this.schema, orgId);
  }

  findCampaignIdByInviteToken(token: string): Promise<string | null> {
    return reads.findCampaignIdByInviteToken(this.pool, this.schema, token);
  }

  commitCampaign(commit: CampaignCommit): Promise<CommitOutcome> {
    return commitCampaign(this.pool, this.schema, commit);
  }

  importConversations(request: ImportRequest): Promise<ImportOutcome> {
    return importConversations(this.pool, this.schema, request);
  }

  findClaimByKey(campaignId: string, texterId: string, key: string): Promise<readonly Conversation[] | null> {
    return reads.findClaimByKey(this.pool, this.schema, campaignId, texterId, key);
  }

  claim(request: ClaimRequest): Promise<ClaimOutcome> {
    return this.claims.run(request);
  }

  release(request: ReleaseRequest): Promise<ReleaseOutcome> {
    return release(this.pool, this.schema, request);
  }

  recordStatus(change: StatusChange): Promise<StatusOutcome> {
    return recordStatus(this.pool, this.schema, change);
  }

  optOut(request: OptOutRequest): Promise<OptOutOutcome> {
    return optOut(this.pool, this.schema, request);
  }

  getConversation(conversationId: string): Promise<Conversation | null> {
    return reads.getConversation(this.pool, this.schema, conversationId);
  }

  listConversations(query: ListQuery): Promise<readonly Conversation[]> {
    return reads.listConversations(this.pool, this.schema, query);
  }

  overview(campaignId: string): Promise<ConversationsOverview> {
    return reads.overview(this.pool, this.schema, campaignId);
  }

  releaseStale(request: StaleReleaseRequest): Promise<readonly Conversation[]> {
    return releaseStale(this.pool, this.schema, request);
  }

  leaseInitialSends(request: LeaseRequest): Promise<LeaseOutcome> {
    return leaseInitialSends(this.pool, this.schema, request);
  }

  acknowledgeInitialSends(request: AcknowledgeRequest): Promise<AcknowledgeOutcome> {
    return acknowledgeInitialSends(this.pool, this.schema, request);
  }

  readEvents(after: number, limit: number): Promise<readonly SelfAssignEvent[]> {
    return readEvents(this.pool, this.schema, after, limit);
  }
}

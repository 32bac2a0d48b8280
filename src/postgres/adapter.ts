/**
 * The PostgreSQL adapter: one file per SQL operation under `sql/`, composed here. Several app
 * servers can share one database; every guarantee of the contract holds across them because it is
 * enforced inside PostgreSQL transactions — fair advisory locks per campaign, row locks, one
 * statement per hand-out — not in process memory.
 * @module
 */
import { availableParallelism } from "node:os";
import type * as A from "../storage/aggregates.js";
import type * as C from "../storage/capabilities.js";
import type { StorageAdapter } from "../storage/contract.js";
import type { FactQuery, FactRecord } from "../storage/facts.js";
import type * as P from "../storage/pool.js";
import type { Campaign, Conversation, Organization } from "../types.js";
import type { PgClientLike, PgPoolLike } from "./pg-like.js";
import { findCampaignByToken, listCampaigns, loadCampaign, loadContext, loadOrganization } from "./sql/aggregates.js";
import { acknowledgeInitialSends, leaseInitialSends } from "./sql/bulk-send.js";
import { commitCampaign } from "./sql/commit-campaign.js";
import { commitOrganization } from "./sql/commit-organization.js";
import { optOut, releaseStale, updateConversations } from "./sql/conversation-writes.js";
import { claim } from "./sql/claim.js";
import { acknowledgeEvents, checkFactQuery, numberedHead, pruneFacts, queryFacts, readConsumer, saveConsumer } from "./sql/facts.js";
import { ClaimQueue } from "./sql/group-claim.js";
import { FactReads } from "./sql/fact-reads.js";
import { FactSignals } from "./sql/listen.js";
import { importConversations } from "./sql/import-conversations.js";
import { migrate } from "./sql/migrate.js";
import { compactCounts, countConversations, listConversations } from "./sql/reads.js";
import { readRoster } from "./sql/rosters.js";
import { quoteSchema } from "./sql/schema-name.js";
import { SharedClient, type TxOptions } from "./sql/transaction.js";

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /** A `pg.Pool` (or anything shaped like {@link PgPoolLike}). Size it at 2–4× the cores of the database host. */
  readonly pool: PgPoolLike;
  /** Schema for the tables; default `selfassign`. Letters, digits, underscores. */
  readonly schema?: string;
  /**
   * Most claims this process runs at once (others wait their turn in memory, and are served in
   * groups). Default: the cores of this machine, at least 2. More concurrent claims than cores make
   * PostgreSQL slower, not faster (see docs/postgres.md).
   */
  readonly maxConcurrentClaims?: number;
  /**
   * Most waiting claims (on one campaign, by different texters) served by one transaction; default
   * 8. `1` turns grouping off. Grouping shares the round trips and the commit among claims that
   * would otherwise queue for a slot; each keeps every guarantee of a single claim.
   */
  readonly maxClaimGroup?: number;
  /**
   * Longest an operation waits for any one lock, ms (PostgreSQL's `lock_timeout`, set per
   * transaction); default 30,000; `0` waits without limit. Under contention operations wait their
   * turn (a pause behind the claims in flight, a claim behind a pause); a wait that runs out fails
   * with `AssignmentError` code `TIMEOUT`, nothing changed.
   */
  readonly lockTimeoutMs?: number;
  /**
   * Push event notifications with LISTEN/NOTIFY (default `true`): while an event watcher runs
   * (`engine.watchEvents`), one connection of the pool LISTENs for other processes' commits. Set
   * `false` behind PgBouncer in transaction mode (it keeps no session for LISTEN): watchers then hear
   * of this process's own commits at once and poll for the rest (every `pollMs`). Writers notify
   * either way.
   */
  readonly listen?: boolean;
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
  /** What this adapter supports: bulk send, stale release, contact zones, campaign listings, event consumers. */
  readonly capabilities: C.Capabilities;
  /** Create or upgrade the tables (idempotent, versioned, safe to run from several processes at once). */
  migrate(): Promise<MigrateResult>;
  /**
   * Acknowledge outbox events up to position `upTo`: mark them (default) or, with `prune: true`,
   * delete them. Returns how many rows were affected.
   */
  acknowledgeEvents(upTo: number, options?: { prune?: boolean }): Promise<number>;
  /**
   * This adapter bound to `client`, a connection on which you have begun a transaction (`BEGIN`):
   * every method runs on that client, each write as a savepoint inside your transaction, so the
   * engine's change and facts commit or roll back with your own rows. Cheap: create an engine over it
   * per transaction (`createEngine({ storage: storage.withClient(client) })`). The pool is never
   * touched and claims are not grouped; calls on it take turns. The locks a step takes (a campaign's
   * advisory lock, row locks) are held until you COMMIT or ROLLBACK: keep the transaction short. A
   * refusal or a fault rolls back to the step's savepoint and leaves your transaction usable. Reads of
   * events see what is numbered already (numbering is left to reads outside transactions); its facts
   * are notified when you commit. The client stays yours: release it yourself.
   */
  withClient(client: PgClientLike): PostgresStorage;
  /**
   * Call `listener` soon after facts are recorded, by this process or (with `listen`) any other; returns
   * the function that stops it. While any listener is registered one pooled connection LISTENs. A hint:
   * read with `readFacts` (watchers also poll, so a lost notification only delays).
   */
  onFacts(listener: () => void): () => void;
}

function wholeOption(value: number | undefined, fallback: number, name: string, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > 2_147_483_647) throw new TypeError(`${name} must be a whole number ≥ ${min}.`);
  return n;
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
  const limit = wholeOption(options.maxConcurrentClaims, Math.max(2, availableParallelism()), "maxConcurrentClaims", 1);
  const group = wholeOption(options.maxClaimGroup, 8, "maxClaimGroup", 1);
  const lockTimeoutMs = wholeOption(options.lockTimeoutMs, 30_000, "lockTimeoutMs", 0);
  if (options.listen !== undefined && typeof options.listen !== "boolean") throw new TypeError("listen must be true or false.");
  const schema = quoteSchema(options.schema ?? "selfassign");
  guardIdleErrors(options.pool);
  const signals = new FactSignals(options.pool, schema, options.listen ?? true);
  const tx: TxOptions = { lockTimeoutMs, factsCommitted: () => signals.committed() };
  const reads = new FactReads(options.pool, schema, () => signals.number());
  return new PostgresAdapter(options.pool, schema, tx, signals, reads, new ClaimQueue(options.pool, schema, limit, group, tx), null);
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
  readonly capabilities = { bulkSend: true, staleRelease: true, contactZones: true, campaignListing: true, eventConsumers: true } as const;

  constructor(
    private readonly pool: PgPoolLike,
    readonly schema: string,
    private readonly tx: TxOptions,
    private readonly signals: FactSignals,
    /** This process's shared numbering and kept facts (reads outside a host's transaction). */
    private readonly reads: FactReads,
    private readonly claims: Pick<ClaimQueue, "run">,
    /** The host's client when bound to its transaction (`withClient`), else `null`. */
    private readonly shared: SharedClient | null,
  ) {}

  withClient(client: PgClientLike): PostgresStorage {
    if (typeof client !== "object" || client === null || typeof client.query !== "function") {
      throw new TypeError("withClient needs a client (from pool.connect()) on which you began a transaction.");
    }
    const shared = new SharedClient(client);
    const tx: TxOptions = { lockTimeoutMs: this.tx.lockTimeoutMs };
    return new PostgresAdapter(shared, this.schema, tx, this.signals, this.reads, { run: (req) => claim(shared, this.schema, req, tx) }, shared);
  }

  migrate(): Promise<MigrateResult> {
    return migrate(this.pool, this.schema);
  }

  async acknowledgeEvents(upTo: number, options: { prune?: boolean } = {}): Promise<number> {
    if (!Number.isInteger(upTo) || upTo < 0) throw new TypeError("upTo must be a whole number ≥ 0.");
    const n = await acknowledgeEvents(this.pool, this.schema, upTo, options.prune === true);
    if (options.prune === true) this.reads.forget(upTo);
    return n;
  }

  // --- aggregates and rosters
  getOrganization(orgId: string): Promise<Organization | null> {
    return loadOrganization(this.pool, this.schema, orgId);
  }

  getCampaign(campaignId: string): Promise<Campaign | null> {
    return loadCampaign(this.pool, this.schema, campaignId);
  }

  findCampaignByToken(token: string): Promise<string | null> {
    return findCampaignByToken(this.pool, this.schema, token);
  }

  readRoster(query: A.RosterQuery): Promise<A.RosterPage> {
    return readRoster(this.pool, this.schema, query);
  }

  commitOrganization(commit: A.OrganizationCommit): Promise<A.OrganizationOutcome> {
    return commitOrganization(this.pool, this.schema, commit, this.tx);
  }

  commitCampaign(commit: A.CampaignCommit): Promise<A.CampaignOutcome> {
    return commitCampaign(this.pool, this.schema, commit, this.tx);
  }

  getContext(campaignId: string, userId: string): Promise<A.CampaignContext | null> {
    return loadContext(this.pool, this.schema, campaignId, userId);
  }

  // --- the conversation pool
  importConversations(request: P.ImportRequest): Promise<P.ImportOutcome> {
    return importConversations(this.pool, this.schema, request, this.tx);
  }

  claim(request: P.ClaimRequest): Promise<P.ClaimOutcome> {
    return this.claims.run(request);
  }

  updateConversations(update: P.ConversationUpdate): Promise<P.UpdateOutcome> {
    return updateConversations(this.pool, this.schema, update, this.tx);
  }

  optOut(request: P.OptOutRequest): Promise<P.OptOutOutcome> {
    return optOut(this.pool, this.schema, request, this.tx);
  }

  listConversations(query: P.ConversationQuery): Promise<P.ConversationPage> {
    return listConversations(this.pool, this.schema, query);
  }

  countConversations(campaignId: string): Promise<P.ConversationCounts> {
    return countConversations(this.pool, this.schema, campaignId);
  }

  // --- the fact log
  async readFacts(query: FactQuery): Promise<readonly FactRecord[]> {
    // Inside a host's transaction: what is numbered already (numbering there would hold its lock until the host commits).
    if (this.shared !== null) return checkFactQuery(query).limit === 0 ? [] : queryFacts(this.pool, this.schema, query);
    return this.reads.read(query);
  }

  factHead(): Promise<number> {
    return this.shared === null ? this.reads.number() : numberedHead(this.pool, this.schema);
  }

  onFacts(listener: () => void): () => void {
    if (typeof listener !== "function") throw new TypeError("onFacts needs a function.");
    return this.signals.add(listener);
  }

  readConsumer(name: string): Promise<number> {
    return readConsumer(this.pool, this.schema, name);
  }

  saveConsumer(name: string, position: number): Promise<void> {
    return saveConsumer(this.pool, this.schema, name, position);
  }

  async pruneFacts(upTo: number): Promise<number> {
    const n = await pruneFacts(this.pool, this.schema, upTo);
    this.reads.forget(upTo);
    return n;
  }

  // --- capabilities
  leaseInitialSends(request: C.LeaseRequest): Promise<C.LeaseOutcome> {
    return leaseInitialSends(this.pool, this.schema, request, this.tx);
  }

  acknowledgeInitialSends(request: C.AcknowledgeRequest): Promise<C.AcknowledgeOutcome> {
    return acknowledgeInitialSends(this.pool, this.schema, request, this.tx);
  }

  async releaseStale(request: C.StaleReleaseRequest): Promise<readonly Conversation[]> {
    const released = await releaseStale(this.pool, this.schema, request, this.tx);
    // Fold the campaign's count rows too, so they stay small where nobody reads an overview. Not
    // checked first (counting distinct groups cost more than folding); maintenance only: a failure
    // leaves the rows for the next read or release.
    await compactCounts(this.pool, this.schema, request.campaignId).catch(() => undefined);
    return released;
  }

  listCampaigns(query: C.CampaignListQuery): Promise<C.CampaignPage> {
    return listCampaigns(this.pool, this.schema, query);
  }
}

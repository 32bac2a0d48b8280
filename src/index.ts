/**
 * selfassign — self assignment for peer-to-peer texting campaigns.
 *
 * `createEngine()` gives an engine on in-memory storage; pass `storage` for another adapter.
 * @module
 */
import { Engine, type EngineOptions } from "./engine/engine.js";
import { createMemoryStorage } from "./memory/adapter.js";

/** Options of {@link createEngine}: {@link EngineOptions} with `storage` optional. */
export type CreateEngineOptions = Omit<EngineOptions, "storage"> & {
  /** Storage adapter; default: a fresh in-memory storage (`selfassign/memory`). */
  readonly storage?: EngineOptions["storage"];
};

/**
 * Create an engine. With no `storage` it keeps everything in memory.
 *
 * @example
 * ```ts
 * import { createEngine } from "selfassign";
 * const engine = createEngine();
 * const org = await engine.createOrganization({ name: "Vote Org", ownerId: "alice" });
 * console.log(org.id);
 * ```
 */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  return new Engine({ ...options, storage: options.storage ?? createMemoryStorage() });
}

export { Engine, startStaleRelease } from "./engine/engine.js";
export type { EngineOptions } from "./engine/engine.js";
export type * from "./engine/results.js";
export type { StaleReleaseJob, StaleReleaseJobOptions } from "./engine/stale-release-job.js";
export { CHANNELS } from "./engine/observe.js";
export type { EngineLogger, OperationContext } from "./engine/observe.js";
export { AssignmentError, isAssignmentError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { RefusalReason, JoinRefusalReason, ReassignSource } from "./core/assignment.js";
export type { CampaignSettingsPatch, BulkSendWait } from "./core/campaign.js";
export { isAutoOptOut, OPT_OUT_KEYWORDS, BATCH_SIZE_MIN, BATCH_SIZE_MAX, DEFAULT_BATCH_SIZE, handOutRank } from "./core/policy.js";
export type { MessagingEvent } from "./core/policy.js";
export { MAX_STRING_LENGTH } from "./engine/schema.js";
export * from "./types.js";
export type { StorageAdapter } from "./storage/contract.js";

/**
 * selfassign — self assignment for peer-to-peer texting campaigns.
 *
 * `createEngine()` gives an engine on in-memory storage; pass `storage` for another adapter.
 * @module
 */
export { createEngine, Engine, startStaleRelease } from "./engine/engine.js";
export type {
  EngineOptions,
  RequestResult,
  JoinResult,
  AssignmentViewFilter,
  ImportResult,
  LaunchResult,
  RemoveSenderResult,
  InviteLinkResult,
  UnassignResult,
  ReassignResult,
  ReleaseResult,
  OptOutResult,
  AcknowledgeResult,
  BulkSendProgress,
  BulkSendResult,
  BulkSendWait,
  StaleReleaseResult,
  StaleReleaseJob,
} from "./engine/engine.js";
export { AssignmentError, isAssignmentError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export type { RefusalReason, JoinRefusalReason, ReassignSource, CampaignSettingsPatch, Decision } from "./core/campaign.js";
export { finishBulkSend, bulkSendRunning } from "./core/campaign.js";
export {
  isAutoOptOut,
  OPT_OUT_KEYWORDS,
  BATCH_SIZE_MIN,
  BATCH_SIZE_MAX,
  DEFAULT_BATCH_SIZE,
  handOutRank,
} from "./core/policy.js";
export type { MessagingEvent } from "./core/policy.js";
export * from "./types.js";
export type * from "./storage/contract.js";

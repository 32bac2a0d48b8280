/**
 * `selfassign/testing` — the conformance suite, the fast-check arbitraries and the reference model,
 * for adapter authors and host applications. Runner-agnostic: every check is an async function that
 * throws (through `fc.assert` or `node:assert`) on failure, so it works under vitest, jest, mocha or
 * `node:test`. Needs `fast-check` (an optional peer dependency of `selfassign`); the main entry never
 * loads this module, fast-check or any test runner.
 * @module
 */
export { conformanceChecks } from "./testing/conformance.js";
export type { ConformanceCheck, ConformanceGroup, ConformanceOptions } from "./testing/conformance.js";
export {
  batchSize,
  commandArbitraries,
  contactId,
  contactPool,
  gatePolicy,
  invalidBatchSize,
  operationSequence,
  organizationMembers,
  settingsPatch,
} from "./testing/arbitraries.js";
/** Every arbitrary as one namespace: `arbitraries.operationSequence(…)`. */
export * as arbitraries from "./testing/arbitraries.js";
export type { GeneratedMembers, SequenceOptions } from "./testing/arbitraries.js";
export type { SettingsPatch } from "./testing/commands/update-settings.js";
export { ReferenceModel, handOutOrder } from "./testing/model.js";
export type {
  Expected,
  ImportCounts,
  JoinPrediction,
  LaunchPrediction,
  ModelCampaign,
  ModelConversation,
  ModelOverview,
  ModelSenderCounts,
  RequestPrediction,
} from "./testing/model.js";
export {
  ACTORS,
  WORLD_USERS,
  attempt,
  checkInvariants,
  createWorlds,
  expectSame,
  runStep,
} from "./testing/world.js";
export type { Actual, InspectedConversation, Inspector, ModelWorld, RealWorld, WorldOptions, Worlds } from "./testing/world.js";
export { warmUp } from "./testing/warm-up.js";
export { scheduledStorage } from "./testing/scheduled-storage.js";
export { readAllEvents, replayHolders } from "./testing/event-replay.js";
export { checkAtomicity } from "./testing/atomicity.js";
export { checkBulkSend } from "./testing/bulk-send.js";
export { checkContactZones, checkStaleRelease, checkStartAndEnd } from "./testing/time-rules.js";
export {
  raceAdminMoves,
  raceCap,
  raceDoubleClickGate,
  raceIdempotency,
  raceInviteJoins,
  raceManyTexters,
} from "./testing/races.js";
export type { RaceTarget } from "./testing/races.js";

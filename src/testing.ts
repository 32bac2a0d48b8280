/**
 * `selfassign/testing` — the conformance suite, the fast-check arbitraries and the reference model,
 * for adapter authors and host applications. Runner-agnostic: every check is an async function that
 * throws (through `fc.assert` or `node:assert`) on failure, so it works under vitest, jest, mocha or
 * `node:test`. Needs `fast-check` (an optional peer dependency of `selfassign`); the main entry never
 * loads this module, fast-check or any test runner.
 * @module
 */
export { conformanceChecks } from "./testing/conformance.js";
export type { ConformanceCheck, ConformanceGroup, ConformanceOptions, Requirement } from "./testing/conformance.js";
export { toInspector } from "./testing/fixture.js";
export type { ConformanceFixture, InspectResult, InspectedConversation, Inspector, Target } from "./testing/fixture.js";
export { aggregateChecks } from "./testing/methods/aggregates.js";
export type { MethodCheck } from "./testing/methods/aggregates.js";
export { poolChecks } from "./testing/methods/pool.js";
export { optionalChecks } from "./testing/methods/optional.js";
export type { OptionalCheck } from "./testing/methods/optional.js";
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
export { defineCommand, step } from "./testing/commands/command.js";
export type { AnyStep, CommandSpec, Step, WorldCommand } from "./testing/commands/command.js";
export { ReferenceModel } from "./testing/model.js";
export { handOutOrder } from "./testing/model-types.js";
export type {
  AddMembersPrediction,
  AddSendersPrediction,
  Expected,
  ImportCounts,
  JoinPrediction,
  LaunchPrediction,
  MemberPrediction,
  ModelCampaign,
  ModelConversation,
  ModelOverview,
  ModelSenderCounts,
  RequestPrediction,
} from "./testing/model-types.js";
export { ACTORS, WORLD_USERS, attempt, checkInvariants, createWorlds, expectSame, runStep } from "./testing/world.js";
export type { Actual, ModelWorld, RealWorld, WorldOptions, Worlds } from "./testing/world.js";
export { warmUp } from "./testing/warm-up.js";
export { scheduledStorage } from "./testing/scheduled-storage.js";
export { applyEvent, readAllEvents, replayHolders } from "./testing/event-replay.js";
export { checkAtomicity } from "./testing/atomicity.js";
export { checkBulkSend } from "./testing/bulk-send.js";
export { checkContactZones, checkStaleRelease, checkStartAndEnd } from "./testing/time-rules.js";
export { checkAdminFairness, checkBulkRosters, checkJoinRush } from "./testing/rosters.js";
export type { RosterOptions } from "./testing/rosters.js";
export { raceAdminMoves, raceCap, raceDoubleClickGate, raceIdempotency, raceInviteJoins, raceManyTexters } from "./testing/races.js";
export type { RaceTarget } from "./testing/races.js";

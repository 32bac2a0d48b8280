/**
 * `selfassign/adapter` — everything a storage adapter needs, in one place: the contract's types,
 * the rules every adapter applies the same way (the claim's gate and cap, hand-out order, the reply
 * time, status sets, the T2 zone test, ids and cursors), the fact builders, and the bulk-send rule.
 * The built-in adapters use exactly this; so can yours (see docs/custom-adapter.md).
 * @module
 */
export type * from "./storage/contract.js";
export type * from "./storage/aggregates.js";
export type * from "./storage/pool.js";
export type * from "./storage/capabilities.js";
export type { Fact, FactContext, FactQuery, FactRecord } from "./storage/facts.js";
export {
  acknowledgedFacts,
  assignedFacts,
  claimFacts,
  fact,
  importedFacts,
  memberFacts,
  movedFacts,
  optOutFacts,
  senderFacts,
  statusFacts,
  unassignedFacts,
  updateFacts,
} from "./storage/facts.js";
export {
  claimRoom,
  compareHandOut,
  conversationId,
  cursorOf,
  inStatusSet,
  isAfter,
  orderRank,
  parseConversationId,
  parseCursor,
  ranksOf,
  replyAtAfter,
  sortKey,
  statusCode,
  zoneOpen,
} from "./storage/rules.js";
export type { ClaimRoom, ConversationKey, CursorParts, HeldCounts } from "./storage/rules.js";
export type { MoveReason, MoveSource, MoveSpec, Moved, StatusSet } from "./core/moves.js";
export type { MemberChange, NewMember, SenderChange } from "./core/changes.js";
export type { BulkSendFinish } from "./core/campaign.js";
export { bulkSendRunning, finishBulkSend } from "./core/campaign.js";
export { handOutRank } from "./core/policy.js";
export { CONVERSATION_STATUSES } from "./types.js";
export type * from "./types.js";

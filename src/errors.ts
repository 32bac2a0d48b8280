/**
 * Stable error codes carried by {@link AssignmentError}. Hosts can switch on them; they never change
 * meaning between versions.
 *
 * - `INVALID_INPUT`: an argument has the wrong type, is out of range or is missing.
 * - `ORGANIZATION_NOT_FOUND`, `CAMPAIGN_NOT_FOUND`, `CONVERSATION_NOT_FOUND`: an unknown id.
 * - `NOT_A_MEMBER`: the user is not a member of the campaign's organization (O1).
 * - `NOT_AUTHORIZED`: the actor's role does not allow the operation (A6).
 * - `NOT_A_SENDER`: a named user is not a sender on the campaign (A5, C3).
 * - `INVALID_STATE`: the campaign's state does not allow the operation (C1, C2, C7, L1).
 * - `INVALID_TRANSITION`: a conversation status change that M1 does not allow.
 * - `SELF_RELEASE_NOT_ALLOWED`: the campaign does not let texters hand conversations back (S9).
 * - `NOT_HELD`: a conversation named for release is not held by the texter.
 * - `ALREADY_EXISTS`: an id given for a new organization or campaign is taken.
 * - `TIMEOUT`: the operation waited longer than the engine's `waitTimeoutMs` for its turn behind
 *   concurrent changes, or longer than the adapter's own bound for one lock (PostgreSQL's
 *   `lockTimeoutMs`); nothing was changed, retry later.
 * - `ABORTED`: the caller's `AbortSignal` aborted before the operation ran; nothing was changed. (A
 *   `bulkSend` aborted midway returns `aborted: true` instead, with what it sent.)
 * - `STORAGE_ERROR`: the storage adapter failed; see `cause`. Nothing was changed (adapters are atomic).
 */
export type ErrorCode =
  | "INVALID_INPUT"
  | "ORGANIZATION_NOT_FOUND"
  | "CAMPAIGN_NOT_FOUND"
  | "CONVERSATION_NOT_FOUND"
  | "NOT_A_MEMBER"
  | "NOT_AUTHORIZED"
  | "NOT_A_SENDER"
  | "INVALID_STATE"
  | "INVALID_TRANSITION"
  | "SELF_RELEASE_NOT_ALLOWED"
  | "NOT_HELD"
  | "ALREADY_EXISTS"
  | "TIMEOUT"
  | "ABORTED"
  | "STORAGE_ERROR";

/**
 * The one error class the library throws. Every refused or failed operation that throws it has
 * changed nothing (I8).
 *
 * @example
 * ```ts
 * try {
 *   await engine.launchCampaign({ actorId, campaignId });
 * } catch (error) {
 *   if (error instanceof AssignmentError && error.code === "NOT_AUTHORIZED") { ... }
 * }
 * ```
 */
export class AssignmentError extends Error {
  /** The stable code; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** Extra machine-readable facts about the failure (the offending field, the ids involved). */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * @param code - the stable code
   * @param message - what went wrong and what to do about it
   * @param options - `details` for machines, `cause` for a wrapped fault
   */
  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AssignmentError";
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** True when `error` is an {@link AssignmentError}, optionally with the given code. */
export function isAssignmentError(error: unknown, code?: ErrorCode): error is AssignmentError {
  return error instanceof AssignmentError && (code === undefined || error.code === code);
}

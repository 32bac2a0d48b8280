/**
 * Shapes shared by the pure decision functions.
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { ActorType, EventDraft, EventPayloads, EventType } from "../types.js";

/** What a decision function returns: the next state and the events that describe the change. */
export interface Decision<S> {
  /** The next state (the same object when nothing changes). */
  readonly state: S;
  /** Events to record in the same atomic step as the change. */
  readonly events: EventDraft[];
}

/** Time and actor of a command, passed in so the core stays pure. */
export interface Context {
  /** Epoch milliseconds, from the engine's injected clock. */
  readonly now: number;
  /** Who acts; `null` for host-reported events. */
  readonly actorId: string | null;
  /** True when the actor is a system actor (the host acting on its own authority). */
  readonly system?: boolean;
}

/** The kind of actor of a context. */
export function actorTypeOf(ctx: Pick<Context, "actorId" | "system">): ActorType {
  return ctx.actorId === null ? "host" : ctx.system === true ? "system" : "user";
}

/** Build a typed event draft. */
export function event<T extends EventType>(
  type: T,
  ctx: Context,
  orgId: string,
  campaignId: string | null,
  data: EventPayloads[T],
): EventDraft {
  return { type, at: ctx.now, orgId, campaignId, actorId: ctx.actorId, actorType: actorTypeOf(ctx), data } as EventDraft;
}

/** Throw an `INVALID_STATE` error. */
export function invalidState(message: string, details: Record<string, unknown> = {}): never {
  throw new AssignmentError("INVALID_STATE", message, { details });
}

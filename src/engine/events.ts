/**
 * Events for many consumers: reads filtered by organization, campaign and type, the head position,
 * named consumers with their own stored positions, pruning, and a push stream (`watchEvents`) that
 * wakes on the adapter's notifications and polls as well, so a lost notification only delays.
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { FactQuery } from "../storage/facts.js";
import type { EventType, SelfAssignEvent } from "../types.js";
import * as s from "./schema.js";
import type { Shell } from "./shell.js";

/** Every event type, keyed so the compiler insists on all of them. */
const EVENT_TYPES: { readonly [T in EventType]: true } = {
  "organization.created": true,
  "organization.member_added": true,
  "organization.member_role_changed": true,
  "organization.member_removed": true,
  "organization.settings_changed": true,
  "campaign.created": true,
  "campaign.settings_changed": true,
  "campaign.launched": true,
  "campaign.status_changed": true,
  "campaign.bulk_send_finished": true,
  "campaign.invite_link_enabled": true,
  "campaign.invite_link_disabled": true,
  "conversations.imported": true,
  "conversations.assigned": true,
  "conversations.unassigned": true,
  "conversations.reassigned": true,
  "sender.joined": true,
  "sender.removed": true,
  "conversation.status_changed": true,
  "contact.opted_out": true,
};
const eventType = s.oneOf(...(Object.keys(EVENT_TYPES) as EventType[]));

const filters = {
  orgId: s.optional(s.text),
  campaignId: s.optional(s.text),
  types: s.optional(s.list(eventType, { max: 100 })),
};
const ReadInput = s.object({
  after: s.optional(s.int(0, Number.MAX_SAFE_INTEGER)),
  consumer: s.optional(s.text),
  limit: s.withDefault(s.int(1, 100_000), 1000),
  ...filters,
});
const WatchInput = s.object({
  after: s.optional(s.int(0, Number.MAX_SAFE_INTEGER)),
  consumer: s.optional(s.text),
  batchSize: s.withDefault(s.int(1, 100_000), 500),
  pollMs: s.withDefault(s.int(10, 3_600_000), 1000),
  signal: s.optional(s.signal),
  ...filters,
});
const AckInput = s.object({ consumer: s.text, upTo: s.int(0, Number.MAX_SAFE_INTEGER) });
const PruneInput = s.object({ upTo: s.int(0, Number.MAX_SAFE_INTEGER) });

function consumers(shell: Shell) {
  const { readConsumer, saveConsumer, pruneFacts } = shell.storage;
  if (!shell.storage.capabilities.eventConsumers || readConsumer === undefined || saveConsumer === undefined || pruneFacts === undefined) {
    throw new AssignmentError("INVALID_STATE", "This storage does not keep event consumers (the eventConsumers capability).", { details: {} });
  }
  return { readConsumer, saveConsumer, pruneFacts };
}

function query(i: { orgId?: string; campaignId?: string; types?: EventType[] }, after: number, limit: number): FactQuery {
  return { after, limit, ...(i.orgId === undefined ? {} : { orgId: i.orgId }), ...(i.campaignId === undefined ? {} : { campaignId: i.campaignId }), ...(i.types === undefined ? {} : { types: i.types }) };
}

/** Where a read starts: `after` if given, else the consumer's stored position, else 0. */
async function start(shell: Shell, i: { after?: number; consumer?: string }): Promise<number> {
  if (i.after !== undefined) return i.after;
  return i.consumer === undefined ? 0 : consumers(shell).readConsumer(i.consumer);
}

/** Events after a position (or after a named consumer's stored one), oldest first, optionally filtered. */
export async function readEvents(shell: Shell, input: unknown = {}): Promise<readonly SelfAssignEvent[]> {
  const i = ReadInput(input, "input");
  return shell.storage.readFacts(query(i, await start(shell, i), i.limit));
}

/** The newest event's position (0 when there is none): where a new consumer that wants only what comes next starts. */
export async function getEventHead(shell: Shell): Promise<number> {
  return shell.storage.factHead();
}

/** Store a consumer's position: what it has handled, up to `upTo` (positions only move forward; at most the head, else `INVALID_INPUT`). */
export async function acknowledgeEvents(shell: Shell, input: unknown): Promise<void> {
  const i = AckInput(input, "input");
  const store = consumers(shell);
  // Positions only move forward, so one beyond the head would skip, for good, events not recorded
  // yet. Checked only when the position moves (a repeated acknowledgement is fine), by the event at
  // `upTo` or after it (one read), else by the head (the event may be pruned).
  if (i.upTo > (await store.readConsumer(i.consumer)) && (await shell.storage.readFacts({ after: i.upTo - 1, limit: 1 })).length === 0) {
    const head = await shell.storage.factHead();
    if (i.upTo > head) {
      throw new AssignmentError("INVALID_INPUT", `"upTo" must be a position already given (at most the head, ${head}); got ${i.upTo}.`, { details: { field: "upTo", head } });
    }
  }
  await store.saveConsumer(i.consumer, i.upTo);
}

/** Delete events at or below `upTo` that every stored consumer has handled; returns how many. */
export async function pruneEvents(shell: Shell, input: unknown): Promise<number> {
  return consumers(shell).pruneFacts(PruneInput(input, "input").upTo);
}

/**
 * One watch's alarm: subscribed to the storage's notifications once for the whole watch, so a
 * notification that arrives while a page is read is remembered, not lost.
 */
class Alarm {
  private rang = false;
  private ring: (() => void) | null = null;
  private readonly stop: (() => void) | undefined;

  constructor(shell: Shell) {
    this.stop = shell.storage.onFacts?.(() => {
      this.rang = true;
      this.ring?.();
    });
  }

  /** Sleep until `ms` pass, the storage signals new facts (now or since the last sleep), or `signal` aborts. */
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (this.rang || signal?.aborted === true) {
        this.rang = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.ring = null;
        this.rang = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.ring = done;
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Unsubscribe. */
  close(): void {
    this.stop?.();
  }
}

/**
 * Push: every event after the start (`after`, or the consumer's stored position, or — with neither —
 * the head: only what comes next), in order, as an async iterator; it ends when `signal` aborts.
 * Storing positions is up to the caller (`acknowledgeEvents`).
 */
export async function* watchEvents(shell: Shell, input: unknown = {}): AsyncGenerator<SelfAssignEvent, void, undefined> {
  const i = WatchInput(input, "input");
  const aborted = () => i.signal?.aborted === true;
  const alarm = new Alarm(shell);
  try {
    let after = i.after !== undefined || i.consumer !== undefined ? await start(shell, i) : await shell.storage.factHead();
    while (!aborted()) {
      const page = await shell.storage.readFacts(query(i, after, i.batchSize));
      for (const e of page) {
        if (aborted()) return;
        yield e;
        after = e.seq;
      }
      if (page.length < i.batchSize) await alarm.sleep(i.pollMs, i.signal);
    }
  } finally {
    alarm.close();
  }
}

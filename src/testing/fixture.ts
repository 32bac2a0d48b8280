/**
 * The adapter under test as the kit sees it: a fixture gives a storage, an independent reader of what
 * that storage persisted, and a way to clean up — the shape better-auth's `testAdapter` users know.
 * @module
 */
import type { StorageAdapter } from "../storage/contract.js";
import type { ConversationStatus } from "../types.js";

/** One conversation as persisted, read by an inspector independently of the adapter's query methods. */
export interface InspectedConversation {
  /** Conversation id. */
  readonly id: string;
  /** Contact id. */
  readonly contactId: string;
  /** Holder or `null`. */
  readonly holder: string | null;
  /** Status. */
  readonly status: ConversationStatus;
}

/** What a reader may return for a campaign: the list, or an object with a `conversations` list, directly or as a promise. */
export type InspectResult =
  | readonly InspectedConversation[]
  | {
      /** The campaign's conversations. */
      readonly conversations: readonly InspectedConversation[];
    }
  | Promise<
      | readonly InspectedConversation[]
      | {
          /** The campaign's conversations. */
          readonly conversations: readonly InspectedConversation[];
        }
    >;

/**
 * A storage to test and its independent reader.
 * @typeParam S - your storage's type.
 */
export interface ConformanceFixture<S extends StorageAdapter = StorageAdapter> {
  /** The storage under test. Checks use fresh, unique ids, so a shared database is fine. */
  readonly storage: S;
  /**
   * Every conversation a campaign has as persisted — `{ id, contactId, holder, status }` — read from
   * the database or files directly, not through the adapter's query methods, so the suite checks
   * storage and not the adapter's word for it. A list or `{ conversations }`, synchronously or as a
   * promise: a SQL query and the in-memory adapter's `storage.inspect(campaignId)` both fit as they are.
   */
  inspect(campaignId: string): InspectResult;
  /** Clean up after the check (close connections, drop the schema, delete files). Optional; may be synchronous. */
  close?(): void | Promise<void>;
}

/**
 * Reads a campaign's persisted conversations straight from storage, as a promise of the list: what
 * {@link toInspector} makes of any {@link ConformanceFixture.inspect}.
 */
export type Inspector = (campaignId: string) => Promise<readonly InspectedConversation[]>;

/**
 * Turn a reader that returns a campaign's conversations — a list or an object with a `conversations`
 * list, directly or as a promise — into an {@link Inspector}. Anything else is rejected with a
 * `TypeError` naming what came back, so a mis-wired reader fails loudly instead of comparing nothing.
 */
export function toInspector(read: (campaignId: string) => InspectResult): Inspector {
  return async (campaignId) => {
    const got: unknown = await read(campaignId);
    if (Array.isArray(got)) return got as readonly InspectedConversation[];
    if (typeof got === "object" && got !== null && Array.isArray((got as { conversations?: unknown }).conversations)) {
      return (got as { conversations: readonly InspectedConversation[] }).conversations;
    }
    const what = got === null ? "null" : typeof got === "object" ? `an object with keys ${JSON.stringify(Object.keys(got))}` : typeof got;
    throw new TypeError(
      `inspect(${JSON.stringify(campaignId)}) must give the campaign's conversations: a list, or an object with a "conversations" list (directly or as a promise); it gave ${what}.`,
    );
  };
}

/** What a check works with: the storage and its reader, normalized. */
export interface Target {
  /** The storage under test. */
  readonly storage: StorageAdapter;
  /** Its independent reader. */
  readonly inspect: Inspector;
}

/** Open a fixture, run `body` on it, and close it whatever happens. */
export async function withFixture<T>(open: () => ConformanceFixture | Promise<ConformanceFixture>, body: (target: Target) => Promise<T>): Promise<T> {
  const fixture = await open();
  try {
    return await body({ storage: fixture.storage, inspect: toInspector((campaignId) => fixture.inspect(campaignId)) });
  } finally {
    await fixture.close?.();
  }
}

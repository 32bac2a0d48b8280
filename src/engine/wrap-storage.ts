/**
 * The engine's view of an adapter: every method present (derivable ones filled in from the core
 * ones), and every call's faults wrapped once — a fault thrown by an adapter (lost connection, bug,
 * full disk) reaches the host as one `AssignmentError` with code `STORAGE_ERROR` and the fault as
 * `cause`. `details.outcome` is `"not_applied"` (the atomic step rolled back) or `"unknown"` when the
 * adapter says the fault hit while committing (an error object with `outcome: "unknown"`).
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { Capabilities } from "../storage/capabilities.js";
import type { CoreStorage, DerivableStorage, StorageAdapter } from "../storage/contract.js";
import type { CampaignContext } from "../storage/aggregates.js";
import type { ConversationCounts } from "../storage/pool.js";
import type { Member, Sender } from "../types.js";
import type { Observer } from "./observe.js";

/** What the engine calls: the core and derivable methods, always present, plus the declared capabilities. */
export type Storage = CoreStorage &
  Required<DerivableStorage> &
  Pick<StorageAdapter, "leaseInitialSends" | "acknowledgeInitialSends" | "releaseStale" | "listCampaigns" | "readConsumer" | "saveConsumer" | "pruneFacts" | "onFacts"> & {
    readonly capabilities: Required<Capabilities>;
  };

/** One entry per method the engine may call: the compiler checks that none is left unwrapped. */
const METHODS: { readonly [K in keyof Omit<Storage, "capabilities" | "onFacts">]-?: "core" | "derivable" | keyof Capabilities } = {
  getOrganization: "core",
  getCampaign: "core",
  findCampaignByToken: "core",
  readRoster: "core",
  commitOrganization: "core",
  commitCampaign: "core",
  importConversations: "core",
  claim: "core",
  updateConversations: "core",
  optOut: "core",
  listConversations: "core",
  readFacts: "core",
  getContext: "derivable",
  countConversations: "derivable",
  factHead: "derivable",
  leaseInitialSends: "bulkSend",
  acknowledgeInitialSends: "bulkSend",
  releaseStale: "staleRelease",
  listCampaigns: "campaignListing",
  readConsumer: "eventConsumers",
  saveConsumer: "eventConsumers",
  pruneFacts: "eventConsumers",
};

/** A campaign context from the core reads (four reads; adapters may do it in one). */
async function deriveContext(s: CoreStorage, campaignId: string, userId: string): Promise<CampaignContext | null> {
  const campaign = await s.getCampaign(campaignId);
  if (campaign === null) return null;
  const organization = await s.getOrganization(campaign.orgId);
  if (organization === null) return null;
  const member = (await s.readRoster({ roster: "members", orgId: campaign.orgId, userIds: [userId], limit: 1 })).rows[0] as Member | undefined;
  const sender = (await s.readRoster({ roster: "senders", campaignId, userIds: [userId], limit: 1 })).rows[0] as Sender | undefined;
  return { campaign, organization, role: member?.role ?? null, sender: sender ?? null };
}

/** Counts by holder and status from a listing of every conversation (adapters may count in place). */
async function deriveCounts(s: CoreStorage, campaignId: string): Promise<ConversationCounts> {
  const counts = new Map<string, { holder: string | null; status: ConversationCounts["rows"][number]["status"]; count: number }>();
  let after: string | null = null;
  do {
    const page = await s.listConversations({ campaignId, statuses: "all", after, limit: 5000 });
    for (const c of page.rows) {
      const key = JSON.stringify([c.assigneeId, c.status]);
      const row = counts.get(key);
      if (row === undefined) counts.set(key, { holder: c.assigneeId, status: c.status, count: 1 });
      else row.count++;
    }
    after = page.cursor;
  } while (after !== null);
  return { rows: [...counts.values()] };
}

/** The newest fact's position, by reading the log to its end. */
async function deriveHead(s: CoreStorage): Promise<number> {
  let head = 0;
  for (;;) {
    const page = await s.readFacts({ after: head, limit: 10_000 });
    if (page.length === 0) return head;
    head = page[page.length - 1]!.seq;
  }
}

function wrapFault(name: string, error: unknown, observer: Observer | undefined): never {
  if (error instanceof AssignmentError) {
    if (error.code === "TIMEOUT") observer?.storageTimedOut(name, error);
    throw error;
  }
  const unknown = typeof error === "object" && error !== null && (error as { outcome?: unknown }).outcome === "unknown";
  observer?.storageFault(name, unknown ? "unknown" : "not_applied", error);
  const why = error instanceof Error ? error.message : String(error);
  throw new AssignmentError(
    "STORAGE_ERROR",
    unknown
      ? `Storage failed while committing in ${name}: ${why}. The change may or may not have been made; a request retried with the same idempotency key returns its result if it was.`
      : `Storage failed in ${name}: ${why}. Nothing was changed.`,
    { cause: error, details: { method: name, outcome: unknown ? "unknown" : "not_applied" } },
  );
}

/** The adapter as the engine uses it; throws `INVALID_INPUT` when a required or declared method is missing. */
export function wrapStorage(adapter: StorageAdapter, observer?: Observer): Storage {
  if (typeof adapter !== "object" || adapter === null) {
    throw new AssignmentError("INVALID_INPUT", '"storage" must be a storage adapter (see StorageAdapter).', { details: { field: "storage" } });
  }
  const capabilities: Required<Capabilities> = {
    bulkSend: adapter.capabilities?.bulkSend === true,
    staleRelease: adapter.capabilities?.staleRelease === true,
    contactZones: adapter.capabilities?.contactZones === true,
    campaignListing: adapter.capabilities?.campaignListing === true,
    eventConsumers: adapter.capabilities?.eventConsumers === true,
  };
  // A notification hint, not a storage call: passed through as it is (no fault wrapping, may be missing).
  const wrapped: Record<string, unknown> = { capabilities, onFacts: typeof adapter.onFacts === "function" ? adapter.onFacts.bind(adapter) : undefined };
  for (const [name, kind] of Object.entries(METHODS)) {
    const own = (adapter as unknown as Record<string, unknown>)[name];
    const required = kind === "core" || (kind !== "derivable" && capabilities[kind]);
    if (typeof own !== "function") {
      if (required) {
        throw new AssignmentError("INVALID_INPUT", `The storage adapter has no method "${name}" (see StorageAdapter${kind === "core" ? "" : ` and its "${kind}" capability`}).`, {
          details: { field: "storage", method: name },
        });
      }
      if (kind !== "derivable") continue;
    }
    const method =
      typeof own === "function"
        ? (own as (...args: unknown[]) => Promise<unknown>).bind(adapter)
        : name === "getContext"
          ? (campaignId: unknown, userId: unknown) => deriveContext(adapter, campaignId as string, userId as string)
          : name === "factHead"
            ? () => deriveHead(adapter)
            : (campaignId: unknown) => deriveCounts(adapter, campaignId as string);
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        wrapFault(name, error, observer);
      }
    };
  }
  return wrapped as unknown as Storage;
}

/**
 * Wraps every storage call once: a fault thrown by an adapter (lost connection, bug, full disk)
 * reaches the host as one `AssignmentError` with code `STORAGE_ERROR` and the fault as `cause`.
 * `details.outcome` is `"not_applied"` (the atomic step rolled back) or `"unknown"` when the adapter
 * says the fault hit while committing (an error object with `outcome: "unknown"`).
 * @module
 */
import { AssignmentError } from "../errors.js";
import type { StorageAdapter } from "../storage/contract.js";

const METHODS = [
  "insertOrganization",
  "getOrganization",
  "updateOrganization",
  "insertCampaign",
  "getCampaign",
  "getCampaignWithOrganization",
  "listCampaigns",
  "findCampaignIdByInviteToken",
  "commitCampaign",
  "importConversations",
  "findClaimByKey",
  "claim",
  "release",
  "recordStatus",
  "optOut",
  "getConversation",
  "listConversations",
  "overview",
  "leaseInitialSends",
  "acknowledgeInitialSends",
  "releaseStale",
  "readEvents",
] as const satisfies readonly (keyof StorageAdapter)[];

/** The adapter with every method's faults wrapped as `STORAGE_ERROR`. */
export function wrapStorage(storage: StorageAdapter): StorageAdapter {
  for (const name of METHODS) {
    if (typeof storage[name] !== "function") {
      throw new AssignmentError("INVALID_INPUT", `The storage adapter has no method "${name}" (see StorageAdapter).`, {
        details: { field: "storage", method: name },
      });
    }
  }
  const wrapped = {} as Record<string, unknown>;
  for (const name of METHODS) {
    const method = storage[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(storage, args);
      } catch (error) {
        if (error instanceof AssignmentError) throw error;
        const unknown = typeof error === "object" && error !== null && (error as { outcome?: unknown }).outcome === "unknown";
        const why = error instanceof Error ? error.message : String(error);
        throw new AssignmentError(
          "STORAGE_ERROR",
          unknown
            ? `Storage failed while committing in ${name}: ${why}. The change may or may not have been made; a request retried with the same idempotency key returns its result if it was.`
            : `Storage failed in ${name}: ${why}. Nothing was changed.`,
          { cause: error, details: { method: name, outcome: unknown ? "unknown" : "not_applied" } },
        );
      }
    };
  }
  return wrapped as unknown as StorageAdapter;
}

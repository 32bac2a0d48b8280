/**
 * `selfassign/memory` — the in-memory storage adapter.
 * @module
 */
export { createMemoryStorage } from "./memory/adapter.js";
export type { MemoryStorage, MemoryStorageOptions, MemoryInspection } from "./memory/adapter.js";

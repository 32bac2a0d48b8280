import { createMemoryStorage } from "../../src/memory.js";
import type { StorageAdapter } from "../../src/storage/contract.js";
import type { Inspector } from "../../src/testing/world.js";

/** A storage adapter under test, with an independent reader of what it persisted. */
export interface AdapterFixture {
  readonly storage: StorageAdapter;
  readonly inspect: Inspector;
  close(): Promise<void>;
}

/**
 * Every adapter the shared suites run against. `runs` scales property-test sizes (a real database is
 * slower). The database fixtures load on first use, so a file that runs one adapter loads only it.
 */
export const adapters: { name: string; runs: number; open: () => Promise<AdapterFixture> }[] = [
  {
    name: "memory",
    runs: 1,
    open: async () => {
      const storage = createMemoryStorage();
      return { storage, inspect: async (id) => storage.inspect(id).conversations, close: async () => undefined };
    },
  },
  {
    name: "sqlite",
    runs: 0.3,
    open: async () => (await import("./sqlite.js")).sqliteFixture(),
  },
  {
    name: "postgres",
    runs: 0.04,
    open: async () => {
      const f = await (await import("./postgres.js")).postgresFixture();
      return { storage: f.storage, inspect: f.inspect, close: () => f.close() };
    },
  },
];

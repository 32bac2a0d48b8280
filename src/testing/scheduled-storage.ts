/**
 * Wraps a storage adapter so that fast-check's scheduler decides when each call starts and when
 * its result is seen, for race tests (`fc.scheduler()`): every await inside the engine becomes a
 * point where other operations may run.
 * @module
 */
import type * as fc from "fast-check";
import type { StorageAdapter } from "../storage/contract.js";

/** The adapter with every method call scheduled before it runs and again before its result returns. */
export function scheduledStorage(s: fc.Scheduler, storage: StorageAdapter): StorageAdapter {
  return new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(), `${String(property)} starts`);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return s.schedule(Promise.resolve(result), `${String(property)} returns`);
      };
    },
  });
}

/**
 * Live updates: one `engine.watchEvents` per campaign per process, shared by every browser watching
 * that campaign (server-sent events). The engine wakes the watcher on its own storage's notifications
 * (PostgreSQL LISTEN/NOTIFY; this process's own SQLite writes) and polls as well, so a change made by
 * another app process arrives within `pollMs`.
 */
import type { Engine, SelfAssignEvent } from "selfassign";

type Listener = (event: SelfAssignEvent) => void;

export function createLiveHub(engine: Engine, options: { pollMs: number }) {
  const watchers = new Map<string, { listeners: Set<Listener>; abort: AbortController }>();

  function watch(campaignId: string) {
    const abort = new AbortController();
    const entry = { listeners: new Set<Listener>(), abort };
    watchers.set(campaignId, entry);
    void (async () => {
      // With neither `after` nor `consumer`, it starts at the head: only what happens from now on.
      while (!abort.signal.aborted) {
        try {
          for await (const event of engine.watchEvents({ campaignId, pollMs: options.pollMs, signal: abort.signal })) {
            for (const listener of entry.listeners) listener(event);
          }
        } catch (error) {
          // A storage fault ends the iterator: say so, wait, watch again (browsers just miss a refresh).
          console.error(`[live] watching ${campaignId} failed, retrying:`, error);
          await new Promise((r) => setTimeout(r, options.pollMs * 5));
        }
      }
    })();
    return entry;
  }

  return {
    /** Call `listener` for every new event of the campaign; returns the unsubscribe function. */
    subscribe(campaignId: string, listener: Listener): () => void {
      const entry = watchers.get(campaignId) ?? watch(campaignId);
      entry.listeners.add(listener);
      return () => {
        entry.listeners.delete(listener);
        if (entry.listeners.size === 0) {
          entry.abort.abort(); // nobody watches this campaign here any more
          watchers.delete(campaignId);
        }
      };
    },
    /** On shutdown. */
    close(): void {
      for (const entry of watchers.values()) entry.abort.abort();
      watchers.clear();
    },
  };
}

export type LiveHub = ReturnType<typeof createLiveHub>;

/**
 * Push for the fact log (`onFacts`): LISTEN/NOTIFY, and the numbering readers leave to each other.
 *
 * - **Notify.** After a transaction that inserted facts commits, the adapter sends `pg_notify` on the
 *   schema's channel in a small transaction of its own (`synchronous_commit = off`), at most one in
 *   flight and one every {@link NOTIFY_SPACING_MS} per adapter. Not inside the writer's transaction:
 *   PostgreSQL serializes the commits of every transaction that notified (a database-wide lock held
 *   through the commit's WAL flush), which measured 40–75% fewer commits per second with 16 writers
 *   and durable commits; a notification after the commit measured no difference. A crash between
 *   the commit and the notification loses only the notification (watchers also poll).
 * - **Listen.** While at least one listener is registered, ONE connection checked out of the pool
 *   LISTENs on the channel (kept {@link RELEASE_AFTER_MS} after the last listener stops, since a
 *   watcher stops and starts again around each read). Its `error` and `end` are listened for; a
 *   connection that fails is destroyed and opened again with backoff, and listeners are called on
 *   every (re)connection, because notifications sent meanwhile were lost. With `listen: false` (for
 *   PgBouncer in transaction mode, which keeps no session for LISTEN) or a client that cannot emit
 *   notifications, listeners hear of this process's own commits only, and watchers poll.
 * - **Calling listeners.** At once, then at most once per {@link DISPATCH_MS} while notifications
 *   keep coming (a burst of writes costs each watcher one read per window, not one per write). A
 *   call with no listener registered is kept for the next listener to register.
 * - **Numbering soon.** A read that found the numbering lock taken numbers again in the background
 *   ({@link RENUMBER_MS} later, until it gets the lock) and then calls the listeners: what the other
 *   reader left unnumbered gets its position soon even if nobody reads again.
 * @module
 */
import type { PgClientLike, PgPoolLike } from "../pg-like.js";
import { channelOf, numberFacts } from "./facts.js";

/** Least time between two notifications one adapter sends, ms. */
export const NOTIFY_SPACING_MS = 20;
/** Least time between two calls of the listeners while notifications keep coming, ms. */
export const DISPATCH_MS = 50;
/** How long the LISTEN connection is kept after the last listener stopped, ms. */
export const RELEASE_AFTER_MS = 500;
/** How soon a read that found the numbering lock taken numbers again, ms. */
export const RENUMBER_MS = 20;
/** Backoff of re-opening a failed LISTEN connection: first and longest wait, ms. */
const BACKOFF_MS = { first: 100, max: 10_000 } as const;

/** A `pg` client as an event emitter (notifications, errors, the end of the connection). */
interface Emitter {
  on(event: string, listener: (arg: never) => void): unknown;
  removeListener(event: string, listener: (arg: never) => void): unknown;
}

/** The LISTEN connection and the handlers attached to it. */
interface Listening {
  readonly client: PgClientLike & Emitter;
  readonly onNotification: (message: { channel?: string }) => void;
  readonly onFailure: (error?: Error) => void;
  dead: boolean;
}

function later(ms: number, run: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return timer;
}

/** One adapter's notifications: sending them, listening, calling listeners, numbering soon. */
export class FactSignals {
  private readonly channel: string;
  private readonly listeners = new Set<() => void>();
  private listening: Listening | null = null;
  private opening = false;
  private backoff: number = BACKOFF_MS.first;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private releaseTimer: ReturnType<typeof setTimeout> | null = null;
  private window: ReturnType<typeof setTimeout> | null = null;
  private trailing = false;
  private pending = false;
  private dirty = false;
  private sending = false;
  private renumbering = false;

  constructor(
    private readonly pool: PgPoolLike,
    private readonly schema: string,
    private listen: boolean,
  ) {
    this.channel = channelOf(schema);
  }

  /** Facts committed in this process: notify (coalesced); without a LISTEN connection, tell this process's listeners directly. */
  committed(): void {
    if (this.listening === null) this.dispatch();
    this.dirty = true;
    if (this.sending) return;
    this.sending = true;
    void this.send();
  }

  private async send(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        // The channel is letters, digits, '_' and ':' (channelOf): safe to inline.
        await this.pool.query(`BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('${this.channel}', ''); COMMIT`).catch(() => undefined);
        await new Promise<void>((resolve) => later(NOTIFY_SPACING_MS, resolve));
      }
    } finally {
      this.sending = false;
    }
  }

  /** Number committed facts (never waiting for another reader); when the lock was taken, number again soon. Returns the head. */
  async number(): Promise<number> {
    const n = await numberFacts(this.pool, this.schema);
    if (n.missed) this.renumber();
    return n.head;
  }

  private renumber(): void {
    if (this.renumbering) return;
    this.renumbering = true;
    later(RENUMBER_MS, () => {
      numberFacts(this.pool, this.schema).then(
        (n) => {
          this.renumbering = false;
          if (n.missed) this.renumber();
          else this.dispatch();
        },
        () => {
          this.renumbering = false; // the pool is gone or failing: the next read numbers
        },
      );
    });
  }

  /** Register a listener (`onFacts`); returns the function that stops it. */
  add(listener: () => void): () => void {
    const entry = () => listener();
    this.listeners.add(entry);
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    if (this.pending) {
      this.pending = false;
      queueMicrotask(() => this.dispatch());
    }
    this.open();
    return () => {
      if (!this.listeners.delete(entry) || this.listeners.size > 0) return;
      if (this.releaseTimer === null) this.releaseTimer = later(RELEASE_AFTER_MS, () => this.release());
    };
  }

  /** Call the listeners now, or once at the end of the current window; kept for later when none is registered. */
  private dispatch(): void {
    if (this.listeners.size === 0) {
      this.pending = true;
      return;
    }
    if (this.window !== null) {
      this.trailing = true;
      return;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's fault is its own; the others are still told.
      }
    }
    this.window = later(DISPATCH_MS, () => {
      this.window = null;
      if (this.trailing) {
        this.trailing = false;
        this.dispatch();
      }
    });
  }

  /** Open the LISTEN connection when listening is on, wanted, and not open or opening already. */
  private open(): void {
    if (!this.listen || this.listening !== null || this.opening || this.retryTimer !== null || this.listeners.size === 0) return;
    this.opening = true;
    this.connect().finally(() => {
      this.opening = false;
    });
  }

  private async connect(): Promise<void> {
    let client: PgClientLike;
    try {
      client = await this.pool.connect();
    } catch {
      this.retry();
      return;
    }
    const emitter = client as PgClientLike & Partial<Emitter>;
    if (typeof emitter.on !== "function" || typeof emitter.removeListener !== "function") {
      client.release(); // cannot hear notifications: listeners hear of this process's commits, watchers poll
      this.listen = false;
      return;
    }
    const state: Listening = {
      client: emitter as PgClientLike & Emitter,
      onNotification: (message) => {
        if (!state.dead && message.channel === this.channel) this.dispatch();
      },
      onFailure: (error) => this.lost(state, error),
      dead: false,
    };
    state.client.on("notification", state.onNotification);
    state.client.on("error", state.onFailure);
    state.client.on("end", state.onFailure);
    try {
      await state.client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      this.lost(state, error instanceof Error ? error : undefined);
      return;
    }
    if (state.dead) return;
    this.listening = state;
    this.backoff = BACKOFF_MS.first;
    this.dispatch(); // notifications sent while nobody listened were lost: read now
    if (this.listeners.size === 0 && this.releaseTimer === null) this.releaseTimer = later(RELEASE_AFTER_MS, () => this.release());
  }

  /** The LISTEN connection failed: destroy it, tell the listeners (they read), open another after a backoff. */
  private lost(state: Listening, error: Error | undefined): void {
    if (state.dead) return;
    state.dead = true;
    if (this.listening === state) this.listening = null;
    // The error and end handlers stay attached (now no-ops): a dead socket may still emit, and an
    // `error` with no listener would crash the process.
    state.client.removeListener("notification", state.onNotification);
    try {
      state.client.release(error ?? true);
    } catch {
      // already released
    }
    this.dispatch();
    this.retry();
  }

  private retry(): void {
    if (this.retryTimer !== null || this.listeners.size === 0) return;
    const wait = this.backoff;
    this.backoff = Math.min(BACKOFF_MS.max, this.backoff * 2);
    this.retryTimer = later(wait, () => {
      this.retryTimer = null;
      this.open();
    });
  }

  /** Nobody listens any more: UNLISTEN and give the connection back (destroy it if that fails). */
  private release(): void {
    this.releaseTimer = null;
    const state = this.listening;
    if (state === null || this.listeners.size > 0) return;
    this.listening = null;
    this.pending = false;
    state.dead = true;
    state.client.removeListener("notification", state.onNotification);
    state.client.query("UNLISTEN *").then(
      () => {
        state.client.removeListener("error", state.onFailure);
        state.client.removeListener("end", state.onFailure);
        state.client.release();
      },
      (error: unknown) => state.client.release(error instanceof Error ? error : true),
    );
  }
}

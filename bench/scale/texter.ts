/**
 * One simulated texter, as a volunteer behaves: clicks the invite link at kickoff, then works the
 * batch with think time between clicks — answers replies first, sends initial messages, and requests
 * more when the batch is done — and refreshes the view now and then (a browser tab would poll).
 *
 * The CLIENT-SIDE LEDGER: what this texter believes it holds, from what its own calls returned (the
 * join's first batch, each request's conversations) and from the event stream for changes others
 * made to it (stale release, an admin's reassignment). Never from reading the database: at the end
 * it is compared with the stored holders, in SQL.
 */
import type { Engine } from "../../src/index.js";
import { isAssignmentError } from "../../src/index.js";
import type { Conversation, ConversationStatus } from "../../src/types.js";
import type { TexterPlan } from "./config.js";

/** What a texter needs from its app-server process. */
export interface TexterApp {
  readonly engine: Engine;
  readonly token: (campaign: "A" | "B") => string;
  readonly campaignId: (campaign: "A" | "B") => string;
  readonly thinkMs: number;
  readonly viewEveryMs: number;
  /** Record a texter's own send or answer; resolves with the outcome. */
  send(texter: Texter, conversationId: string, event: "initial_sent" | "texter_replied"): Promise<"recorded" | "not_held" | "ignored" | "error">;
  /** Time and count one operation. */
  timed<T>(op: string, run: () => Promise<T>): Promise<T>;
  error(op: string, error: unknown): void;
  count(name: string, n?: number): void;
  stopped(): boolean;
  sleep(ms: number): Promise<void>;
}

export class Texter {
  /** Conversation id → (gains seen) − (losses seen): 1 held, 0 not. Anything else is a ledger fault. */
  readonly ledger = new Map<string, number>();
  /** What the texter knows of its conversations' status (for choosing the next click). */
  private readonly known = new Map<string, ConversationStatus | "unknown">();
  private requests = 0;
  joined = false;
  /** The join is over (joined, or gave up after its attempts). */
  joinSettled = false;
  joinedAt: number | null = null;
  /** Set by the worker when an event moves a conversation to this texter (its status unknown). */
  viewDue = false;
  readonly campaignId: string;

  constructor(
    readonly plan: TexterPlan,
    private readonly app: TexterApp,
  ) {
    this.campaignId = app.campaignId(plan.campaign);
  }

  get id(): string {
    return this.plan.id;
  }

  /** Conversations gained by this texter's own call. */
  private gain(conversations: readonly Conversation[]): void {
    for (const c of conversations) {
      this.ledger.set(c.id, (this.ledger.get(c.id) ?? 0) + 1);
      this.known.set(c.id, c.status);
    }
  }

  /** From the event stream: a change somebody else made (stale release, an admin). */
  lost(conversationId: string): void {
    const n = (this.ledger.get(conversationId) ?? 0) - 1;
    this.ledger.set(conversationId, n);
    if (n <= 0) this.known.delete(conversationId);
  }

  /** From the event stream: an admin moved a conversation to this texter. */
  received(conversationId: string): void {
    this.ledger.set(conversationId, (this.ledger.get(conversationId) ?? 0) + 1);
    this.known.set(conversationId, "unknown");
    this.viewDue = true;
  }

  /** The provider (in this process) recorded a contact's reply on a conversation this texter holds. */
  replied(conversationId: string, status: ConversationStatus): void {
    if (this.known.has(conversationId)) this.known.set(conversationId, status);
  }

  /** Conversations held by the ledger (count 1). */
  held(): string[] {
    return [...this.ledger].filter(([, n]) => n === 1).map(([id]) => id);
  }

  async run(t0: number): Promise<void> {
    const app = this.app;
    await app.sleep(Math.max(0, t0 + this.plan.joinAtMs - Date.now()));
    if (app.stopped()) return;
    await this.join();
    this.joinSettled = true;
    app.count("join_settled");
    if (this.plan.idle || !this.joined) return; // walked away: their conversations go stale (T4)
    let lastView = Date.now();
    while (!app.stopped()) {
      await app.sleep(app.thinkMs * (0.5 + Math.random()));
      if (app.stopped()) break;
      if (this.viewDue || Date.now() - lastView > app.viewEveryMs) {
        lastView = Date.now();
        this.viewDue = false;
        await this.refreshView();
        continue;
      }
      const reply = this.pick("needs_reply");
      if (reply !== undefined) {
        await this.act(reply, "texter_replied", "replied");
        continue;
      }
      const fresh = this.pick("not_started");
      if (fresh !== undefined) {
        await this.act(fresh, "initial_sent", "initial_sent");
        continue;
      }
      if ([...this.known.values()].includes("unknown")) {
        this.viewDue = true;
        continue;
      }
      await this.request();
    }
  }

  private pick(status: ConversationStatus): string | undefined {
    for (const [id, s] of this.known) if (s === status) return id;
    return undefined;
  }

  private async act(conversationId: string, event: "initial_sent" | "texter_replied", after: ConversationStatus): Promise<void> {
    const outcome = await this.app.send(this, conversationId, event);
    if (outcome === "recorded") this.known.set(conversationId, after);
    else if (outcome === "not_held") this.known.delete(conversationId); // moved away; the event stream updates the ledger
    else if (outcome === "ignored") this.known.set(conversationId, "unknown");
    // "error": keep it and try again later
  }

  private async join(): Promise<void> {
    const app = this.app;
    for (let attempt = 1; attempt <= 5 && !app.stopped(); attempt++) {
      try {
        const r = await app.timed("join", () => app.engine.joinByInvite({ token: app.token(this.plan.campaign), userId: this.id }));
        if (!r.ok) {
          app.count(`join_refused:${r.reason}`);
          app.error("join", new Error(`refused: ${r.reason}`));
          await app.sleep(2000);
          continue;
        }
        app.count(`join:${r.firstBatch}`);
        this.joined = true;
        this.joinedAt = Date.now();
        if (r.firstBatch === "already_holding" && attempt > 1) {
          // An earlier attempt committed but its answer was lost: the client reloads what it holds.
          app.count("join_recovered");
          const mine = await app.engine.getAssignments({ actorId: this.id, campaignId: this.campaignId, texterId: this.id });
          this.gain(mine);
        } else {
          this.gain(r.conversations);
        }
        return;
      } catch (error) {
        app.error("join", error);
        await app.sleep(1000);
      }
    }
  }

  private async request(): Promise<void> {
    const app = this.app;
    const key = `${this.id}:${++this.requests}`;
    // A retry after a fault uses the same key: if the first attempt committed, the retry returns it (S8).
    for (let attempt = 1; attempt <= 5 && !app.stopped(); attempt++) {
      try {
        const r = await app.timed("request", () => app.engine.requestConversations({ campaignId: this.campaignId, texterId: this.id, idempotencyKey: key }));
        if (r.ok) {
          app.count(r.replayed ? "request:replayed" : "request:ok");
          this.gain(r.conversations);
          return;
        }
        app.count(`request_refused:${r.reason}`);
        if (r.reason === "batch_unfinished") this.viewDue = true;
        await app.sleep(r.reason === "campaign_not_active" ? 1000 : r.reason === "nothing_available" ? 10_000 : 2000);
        return;
      } catch (error) {
        app.error("request", error);
        await app.sleep(500);
      }
    }
  }

  /** The texter's page reloads its actionable view: statuses only (the ledger is not touched). */
  private async refreshView(): Promise<void> {
    const app = this.app;
    try {
      const view = await app.timed("view", () =>
        app.engine.getAssignments({ actorId: this.id, campaignId: this.campaignId, texterId: this.id, filter: "actionable", limit: 200 }),
      );
      const actionable = new Map(view.map((c) => [c.id, c.status]));
      for (const [id, status] of this.known) {
        const now = actionable.get(id);
        if (now !== undefined) this.known.set(id, now);
        else if (status === "unknown" || status === "needs_reply" || status === "not_started") this.known.set(id, "initial_sent"); // nothing to do on it
      }
    } catch (error) {
      app.error("view", error);
    }
  }

  /** Is this error the engine telling us the campaign is paused (a refusal, not a fault)? */
  static refusal(error: unknown): boolean {
    return isAssignmentError(error, "INVALID_STATE");
  }
}

/**
 * Deliberately broken adapters, each the plain array adapter wrong in exactly one way, to prove the
 * conformance suite has teeth (test/broken-adapters.test.ts).
 */
import { type CampaignCommit, type CampaignOutcome, type ClaimOutcome, type ClaimRequest, claimFacts, claimRoom } from "../../src/adapter.js";
import { ArrayAdapter, type Row } from "./array-adapter.js";

/** One turn of the event loop: where a real database would be waiting on the network. */
const roundTrip = () => new Promise<void>((resolve) => setImmediate(resolve));

/** I1: a request reads the pool, waits a round trip, then writes holders without re-checking — a read-then-write race. */
export class NonAtomicClaim extends ArrayAdapter {
  override async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const isSender = (this.senders.get(req.campaignId) ?? []).some((l) => l.row.userId === req.texterId);
    if (req.join !== null || req.idempotencyKey !== null || !isSender || this.campaigns.get(req.campaignId)?.version !== req.expectedVersion) return super.claim(req);
    const mine = (this.rows.get(req.campaignId) ?? []).filter((r) => r.assigneeId === req.texterId);
    const room = claimRoom(req, { held: mine.length, notStarted: mine.filter((r) => r.status === "not_started").length, needsReply: mine.filter((r) => r.status === "needs_reply").length });
    if (room.kind === "blocked") return { kind: "blocked", reason: room.reason, joined: false };
    const candidates = this.pool(this.rows.get(req.campaignId) ?? [], req.ranks).slice(0, room.room).map((r) => r.id);
    await roundTrip();
    const picked = (this.rows.get(req.campaignId) ?? []).filter((r) => candidates.includes(r.id));
    for (const r of picked) {
      r.assigneeId = req.texterId; // overwrites whoever claimed it meanwhile
      r.assignedAt = req.now;
    }
    const conversations = picked.map((r) => ({ ...r }));
    this.append(claimFacts(req.context, null, false, req.texterId, conversations));
    return { kind: "claimed", conversations, joined: false };
  }
}

/** S4, I4: hands out in import order, ignoring the rank: replies do not come first. */
export class IgnoresRank extends ArrayAdapter {
  protected override handOut(rows: Row[]): Row[] {
    return rows.sort((a, b) => a.seq - b.seq);
  }
}

/** I8: writes work on the live rows instead of copies: a write that fails part-way keeps what it changed so far. */
export class LosesOnFailure extends ArrayAdapter {
  protected override draft(campaignId: string): Row[] {
    const live = this.rows.get(campaignId) ?? [];
    this.rows.set(campaignId, live);
    return live; // no copy: nothing to roll back
  }
}

/** S5, I5: checks the gate, waits a round trip, then claims with the gate switched off: the check is outside the atomic step. */
export class GateOutsideTheStep extends ArrayAdapter {
  override async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const mine = (this.rows.get(req.campaignId) ?? []).filter((r) => r.assigneeId === req.texterId);
    const room = claimRoom(req, { held: mine.length, notStarted: mine.filter((r) => r.status === "not_started").length, needsReply: mine.filter((r) => r.status === "needs_reply").length });
    if (room.kind === "blocked") return super.claim(req);
    await roundTrip();
    return super.claim({ ...req, gate: { maxNotStarted: null, maxNeedsReply: null }, maxHeld: null });
  }
}

/**
 * Sets are rows (issue 9): keeps each campaign's senders as one document with a version. Adding a
 * sender (an admin's add or an invite join) reads the document and its version, works for a round
 * trip, and writes it back only if the version is unchanged — otherwise it answers `conflict`. Under
 * a join rush most joins lose to each other.
 */
export class RewritesRoster extends ArrayAdapter {
  private readonly rosterVersions = new Map<string, number>();

  /** Read the roster's version, wait a round trip, then check it: false when somebody wrote the roster meanwhile. */
  private async rewrite(campaignId: string): Promise<boolean> {
    const read = this.rosterVersions.get(campaignId) ?? 0;
    await roundTrip();
    if ((this.rosterVersions.get(campaignId) ?? 0) !== read) return false;
    this.rosterVersions.set(campaignId, read + 1);
    return true;
  }

  override async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const isSender = (this.senders.get(req.campaignId) ?? []).some((l) => l.row.userId === req.texterId);
    if (req.join === null || isSender) return super.claim(req);
    return (await this.rewrite(req.campaignId)) ? super.claim(req) : { kind: "conflict" };
  }

  override async commitCampaign(commit: CampaignCommit): Promise<CampaignOutcome> {
    if (commit.senders?.kind !== "add") return super.commitCampaign(commit);
    return (await this.rewrite(commit.campaignId)) ? super.commitCampaign(commit) : { kind: "conflict" };
  }
}

/**
 * A reader-preferring readers–writer lock: shared holders never wait for a waiting exclusive one, so
 * while shared requests keep overlapping, an exclusive request never gets its turn. (PostgreSQL's row
 * locks behave like this: new `FOR SHARE` lockers overtake a waiting `FOR UPDATE`.)
 */
export class ReaderPreferringLock {
  private readers = 0;
  private writing = false;
  private readonly waitingReaders: (() => void)[] = [];
  private readonly waitingWriters: (() => void)[] = [];

  /** Run `body` holding the lock shared. */
  async shared<T>(body: () => Promise<T>): Promise<T> {
    if (this.writing) await new Promise<void>((resolve) => this.waitingReaders.push(resolve)); // woken already counted in
    else this.readers++;
    try {
      return await body();
    } finally {
      this.readers--;
      if (this.readers === 0) this.wakeWriter();
    }
  }

  /** Run `body` holding the lock exclusively. */
  async exclusive<T>(body: () => Promise<T>): Promise<T> {
    if (this.writing || this.readers > 0) await new Promise<void>((resolve) => this.waitingWriters.push(resolve)); // woken holding it
    else this.writing = true;
    try {
      return await body();
    } finally {
      this.writing = false;
      if (this.waitingReaders.length > 0) {
        this.readers += this.waitingReaders.length;
        for (const wake of this.waitingReaders.splice(0)) wake();
      } else this.wakeWriter();
    }
  }

  private wakeWriter(): void {
    const next = this.waitingWriters.shift();
    if (next === undefined) return;
    this.writing = true;
    next();
  }
}

/**
 * Locks must queue fairly (issue 9): every claim holds the campaign lock shared for a round trip, and
 * every campaign commit (a pause, a settings change) takes it exclusively — through a
 * reader-preferring lock. While texters keep requesting, an admin's pause never gets its turn.
 */
export class StarvesAdmins extends ArrayAdapter {
  private readonly locks = new Map<string, ReaderPreferringLock>();

  private lock(campaignId: string): ReaderPreferringLock {
    let lock = this.locks.get(campaignId);
    if (lock === undefined) this.locks.set(campaignId, (lock = new ReaderPreferringLock()));
    return lock;
  }

  override claim(req: ClaimRequest): Promise<ClaimOutcome> {
    return this.lock(req.campaignId).shared(async () => {
      await roundTrip();
      return super.claim(req);
    });
  }

  override commitCampaign(commit: CampaignCommit): Promise<CampaignOutcome> {
    return this.lock(commit.campaignId).exclusive(() => super.commitCampaign(commit));
  }
}

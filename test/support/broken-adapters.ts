/**
 * Deliberately broken adapters, each wrong in exactly one way, to prove the conformance suite has teeth.
 */
import type { ClaimOutcome, ClaimRequest, CampaignCommit, CommitOutcome } from "../../src/storage/contract.js";
import { ArrayAdapter } from "./array-adapter.js";

const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The claim reads the pool, yields, then writes holders without re-checking: a read-then-write race. */
export class NonAtomicClaim extends ArrayAdapter {
  override async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    if (this.campaigns.get(req.campaignId)?.version !== req.expectedVersion) return { kind: "conflict" };
    const candidates = this.pool(this.rows.get(req.campaignId)!, req.ranks).slice(0, req.limit).map((r) => r.id);
    await yieldNow();
    const rows = this.rows.get(req.campaignId)!;
    const picked = rows.filter((r) => candidates.includes(r.id));
    for (const r of picked) {
      r.assigneeId = req.texterId; // overwrites whoever claimed it meanwhile
      r.assignedAt = req.now;
    }
    const conversations = picked.map((r) => ({ ...r }));
    if (req.next) this.campaigns.set(req.campaignId, req.next);
    this.record(req.events(conversations));
    return { kind: "claimed", conversations };
  }
}

/** Hands out in import order, ignoring the rank (S4): replies do not come first. */
export class IgnoresRank extends ArrayAdapter {
  protected override pool(rows: Parameters<ArrayAdapter["pool"]>[0], ranks?: readonly number[]) {
    return super.pool(rows, ranks).sort((a, b) => a.seq - b.seq);
  }
}

/** Applies bulk moves to the live rows before building the events: a failing later step loses the change's record. */
export class LosesOnFailure extends ArrayAdapter {
  override async commitCampaign(commit: CampaignCommit): Promise<CommitOutcome> {
    if (this.campaigns.get(commit.campaignId)?.version !== commit.expectedVersion) return { kind: "conflict" };
    const live = this.rows.get(commit.campaignId)!;
    if (commit.next) this.campaigns.set(commit.campaignId, commit.next);
    const moved = commit.moves.map((m) => this.move(live, m, commit.now)); // no copy: nothing to roll back
    this.record(commit.events(moved));
    return { kind: "committed", moved };
  }
}

/** Checks the gate, yields, then claims with the gate switched off: the check is outside the atomic step. */
export class GateOutsideTheStep extends ArrayAdapter {
  override async claim(req: ClaimRequest): Promise<ClaimOutcome> {
    const reason = this.blocked(this.rows.get(req.campaignId) ?? [], req);
    if (reason !== null) return super.claim(req);
    await yieldNow();
    return super.claim({ ...req, gate: { maxNotStarted: null, maxNeedsReply: null }, maxHeld: null });
  }
}

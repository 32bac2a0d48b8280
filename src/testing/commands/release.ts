import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, conversationIdOf, runStep } from "../world.js";

/** S9, A6: release named conversations (all or nothing). */
export class ReleaseCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(
    readonly campaign: number,
    readonly actor: string,
    readonly contactIds: readonly string[],
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    const campaignId = r.campaignIds[this.campaign]!;
    const ids: string[] = [];
    for (const contactId of this.contactIds) {
      ids.push((await conversationIdOf(r, campaignId, contactId)) ?? `${campaignId}:missing-${contactId}`);
    }
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.release(this.actor, campaignId, this.contactIds),
      call: () => r.engine.releaseConversations({ actorId: this.actor, campaignId, conversationIds: ids }),
      project: (v) => v,
      changesOnSuccess: true,
    });
  }
  toString(): string {
    return `release(${this.campaign}, ${this.actor}, [${this.contactIds.join(",")}])`;
  }
}

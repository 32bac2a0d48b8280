import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** C2: an actor imports contacts (duplicates and repeats included). */
export class ImportContactsCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
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
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.importContacts(this.actor, campaignId, this.contactIds),
      call: () =>
        r.engine.importContacts({
          actorId: this.actor,
          campaignId,
          contacts: this.contactIds.map((contactId) => ({ contactId })),
        }),
      project: (v) => v,
    });
  }
  toString(): string {
    return `import(${this.campaign}, ${this.actor}, [${this.contactIds.join(",")}])`;
  }
}

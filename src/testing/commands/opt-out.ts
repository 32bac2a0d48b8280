import type * as fc from "fast-check";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** O3: a contact opts out organization-wide. */
export class OptOutCommand implements fc.AsyncCommand<ModelWorld, RealWorld> {
  constructor(readonly contactId: string) {}
  check(): boolean {
    return true;
  }
  async run(m: ModelWorld, r: RealWorld): Promise<void> {
    await runStep(m, r, {
      label: this.toString(),
      predict: () => m.model.optOut(this.contactId),
      call: () => r.engine.optOut({ orgId: r.orgId, contactId: this.contactId }),
      project: () => null,
    });
  }
  toString(): string {
    return `optOut(${this.contactId})`;
  }
}

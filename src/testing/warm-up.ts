/**
 * A fixed opening for model runs, so random sequences start from a launched campaign with
 * contacts, senders and self assignment on, rather than spending their length getting there.
 * @module
 */
import type * as fc from "fast-check";
import { AddSendersCommand } from "./commands/add-senders.js";
import { ImportContactsCommand } from "./commands/import-contacts.js";
import { LaunchCommand } from "./commands/launch.js";
import { UpdateSettingsCommand } from "./commands/update-settings.js";
import { InviteLinkCommand } from "./commands/invite-link.js";
import { WORLD_USERS, type ModelWorld, type RealWorld } from "./world.js";
import { contactName } from "./arbitraries.js";

/** Campaign 0: 10 contacts, self assignment on with batch 3, launched with no senders, then t1, t2 added, invite link on. */
export function warmUp(): fc.AsyncCommand<ModelWorld, RealWorld>[] {
  const owner = WORLD_USERS.owner;
  return [
    new ImportContactsCommand(0, owner, Array.from({ length: 10 }, (_, i) => contactName(i))),
    new UpdateSettingsCommand(0, owner, { enabled: true, batchSize: 3 }),
    new LaunchCommand(0, owner),
    new AddSendersCommand(0, owner, ["t1", "t2"]),
    new InviteLinkCommand(0, owner, true),
  ];
}

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
    new ImportContactsCommand({ campaign: 0, actor: owner, contactIds: Array.from({ length: 10 }, (_, i) => contactName(i)) }),
    new UpdateSettingsCommand({ campaign: 0, actor: owner, patch: { enabled: true, batchSize: 3 } }),
    new LaunchCommand({ campaign: 0, actor: owner }),
    new AddSendersCommand({ campaign: 0, actor: owner, userIds: ["t1", "t2"] }),
    new InviteLinkCommand({ campaign: 0, actor: owner, enable: true }),
  ];
}

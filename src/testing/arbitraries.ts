/**
 * fast-check arbitraries: settings, contact pools and operation sequences over a small world
 * (an owner, an admin, texters t1–t4, a stranger; two campaigns; a few contacts) where collisions
 * are frequent and every rule gets exercised.
 * @module
 */
import * as fc from "fast-check";
import type { GatePolicy, Role, StatusFilter } from "../types.js";
import { AddMembersCommand } from "./commands/add-members.js";
import { AddSendersCommand } from "./commands/add-senders.js";
import { ChangeStatusCommand } from "./commands/change-status.js";
import { ImportContactsCommand } from "./commands/import-contacts.js";
import { InviteLinkCommand } from "./commands/invite-link.js";
import { JoinCommand } from "./commands/join.js";
import { LaunchCommand } from "./commands/launch.js";
import { MessagingCommand } from "./commands/messaging.js";
import { OptOutCommand } from "./commands/opt-out.js";
import { ReassignCommand } from "./commands/reassign.js";
import { ReleaseCommand } from "./commands/release.js";
import { RemoveSenderCommand } from "./commands/remove-sender.js";
import { RequestCommand } from "./commands/request.js";
import { type SettingsPatch, UpdateSettingsCommand } from "./commands/update-settings.js";
import { UnassignAllCommand } from "./commands/unassign-all.js";
import type { WorldCommand } from "./commands/command.js";
import { ACTORS, type ModelWorld, type RealWorld, WORLD_USERS } from "./world.js";

/** Options of {@link operationSequence}. */
export interface SequenceOptions {
  /** Most commands in a sequence (default 60). */
  readonly maxCommands?: number;
  /** Number of distinct contacts (default 12). */
  readonly contacts?: number;
  /** Number of campaigns in the world (default 2). */
  readonly campaigns?: number;
}

/** What {@link organizationMembers} generates. */
export interface GeneratedMembers {
  /** The creating owner. */
  readonly ownerId: string;
  /** Other members with their roles (never the owner). */
  readonly members: Record<string, Role>;
}

/**
 * Ids that are names of `Object.prototype` properties: storage keyed by a plain object mistakes them
 * for what every object already has (identifiers and strings, SPEC). Every id arbitrary mixes them in.
 */
export const PROTOTYPE_KEYS: readonly string[] = ["__proto__", "constructor", "toString", "hasOwnProperty"];

/** A user id: short names, often a prototype key. */
export function userId(): fc.Arbitrary<string> {
  return fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/), fc.constantFrom(...PROTOTYPE_KEYS));
}

/** An organization's members: user ids with roles (at least one owner), as `addMember` input. */
export function organizationMembers(): fc.Arbitrary<GeneratedMembers> {
  return fc
    .record({
      ownerId: fc.constantFrom("owner", "founder"),
      members: fc.dictionary(
        userId(),
        fc.constantFrom<Role>("owner", "admin", "texter", "texter", "texter"),
        { maxKeys: 8 },
      ),
    })
    .map(({ ownerId, members }) => {
      const rest = { ...members };
      delete rest[ownerId];
      return { ownerId, members: rest };
    });
}

/** A valid or invalid batch size: mostly 1..5, sometimes a boundary or garbage. */
export function batchSize(): fc.Arbitrary<number> {
  return fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }) }, fc.constant(5000));
}

/** Values that are not a batch size (O2, S1): 0, 5001, 2.5, NaN, negative, a string, null. */
export function invalidBatchSize(): fc.Arbitrary<unknown> {
  return fc.constantFrom<unknown>(0, 5001, 2.5, Number.NaN, -3, "10", null, Infinity);
}

/** A gate policy (S5). */
export function gatePolicy(): fc.Arbitrary<GatePolicy> {
  return fc.constantFrom<GatePolicy>("no-pending-initials", "no-pending-work", "none");
}

/** A settings patch, sometimes with an invalid batch size. */
export function settingsPatch(): fc.Arbitrary<SettingsPatch> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.record(
      {
        enabled: fc.boolean(),
        batchSize: batchSize(),
        gate: gatePolicy(),
        cap: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
        allowSelfRelease: fc.boolean(),
      },
      { requiredKeys: [] },
    ) },
    { weight: 4, arbitrary: fc.constant<SettingsPatch>({ enabled: true }) },
    { weight: 1, arbitrary: invalidBatchSize().map((bad): SettingsPatch => ({ bad })) },
  );
}

/** Contact number `i`'s id: the first ones are prototype keys ({@link PROTOTYPE_KEYS}), then `c4`, `c5`, …. */
export function contactName(i: number): string {
  return PROTOTYPE_KEYS[i] ?? `c${i}`;
}

/** One of `contacts` contact ids ({@link contactName}). */
export function contactId(contacts = 12): fc.Arbitrary<string> {
  return fc.integer({ min: 0, max: contacts - 1 }).map(contactName);
}

/** A contact pool to import: a few contact ids, repeats allowed (C2). */
export function contactPool(contacts = 12): fc.Arbitrary<string[]> {
  return fc.array(contactId(contacts), { minLength: 1, maxLength: 8 });
}

const texter = fc.constantFrom(...WORLD_USERS.texters);
const manager = fc.constantFrom<string>(WORLD_USERS.owner, WORLD_USERS.admin, WORLD_USERS.owner, "t1", WORLD_USERS.stranger);

/**
 * Every operation as a fast-check command arbitrary, weighted so that requests, joins and status
 * changes are common and lifecycle changes are rare.
 */
export function commandArbitraries(options: SequenceOptions = {}): fc.Arbitrary<fc.AsyncCommand<ModelWorld, RealWorld>>[] {
  const n = options.contacts ?? 12;
  const campaign = fc.integer({ min: 0, max: (options.campaigns ?? 2) - 1 });
  const contact = contactId(n);
  const users = fc.uniqueArray(fc.constantFrom(...ACTORS), { minLength: 1, maxLength: 3 });
  const filter = fc.constantFrom<StatusFilter>("any", "needs_reply", "not_started");
  const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  const role = fc.constantFrom<Role>("texter", "texter", "admin", "owner");
  const joiner = fc.constantFrom<string>(WORLD_USERS.newcomer, WORLD_USERS.newcomer, "t1", "__proto__", WORLD_USERS.admin);
  const command = <P>(arbitrary: fc.Arbitrary<P>, make: (p: P) => WorldCommand<unknown>) => arbitrary.map(make);
  return [
    command(fc.record({ campaign, actor: manager, contactIds: contactPool(n) }), (p) => new ImportContactsCommand(p)),
    command(fc.record({ campaign, actor: manager, patch: settingsPatch() }), (p) => new UpdateSettingsCommand(p)),
    command(fc.record({ campaign, actor: manager, userIds: users }), (p) => new AddSendersCommand(p)),
    command(fc.record({ actor: manager, members: fc.array(fc.record({ userId: joiner, role }), { minLength: 1, maxLength: 3 }) }), (p) => new AddMembersCommand(p)),
    command(
      fc.record({
        campaign,
        actor: manager,
        userId: fc.constantFrom<string>(...WORLD_USERS.texters, WORLD_USERS.stranger),
        reassignTo: fc.uniqueArray(texter, { maxLength: 2 }),
      }),
      (p) => new RemoveSenderCommand(p),
    ),
    command(fc.record({ campaign, actor: manager }), (p) => new LaunchCommand(p)),
    command(fc.record({ campaign, actor: manager, change: fc.constantFrom<"pause" | "resume" | "archive">("pause", "resume", "resume", "archive") }), (p) => new ChangeStatusCommand(p)),
    command(fc.record({ campaign, actor: manager, enable: fc.boolean() }), (p) => new InviteLinkCommand(p)),
    ...[1, 2, 3].map(() =>
      command(
        fc.record({
          campaign,
          texterId: fc.oneof(texter, fc.constantFrom<string>(WORLD_USERS.stranger, WORLD_USERS.admin, WORLD_USERS.newcomer)),
          idempotencyKey: fc.option(fc.constantFrom("k1", "k2"), { nil: null, freq: 3 }),
        }),
        (p) => new RequestCommand(p),
      ),
    ),
    command(
      fc.record({ campaign, userId: fc.constantFrom(...ACTORS), token: fc.constantFrom<"current" | "revoked" | "garbage">("current", "current", "revoked", "garbage") }),
      (p) => new JoinCommand(p),
    ),
    command(fc.record({ campaign, actor: manager }), (p) => new UnassignAllCommand(p)),
    command(
      fc.record({
        campaign,
        actor: manager,
        from: fc.oneof(fc.constant<"unassigned">("unassigned"), fc.uniqueArray(texter, { minLength: 1, maxLength: 2 })),
        filter,
        count: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
        to: fc.uniqueArray(texter, { minLength: 1, maxLength: 3 }),
      }),
      (p) => new ReassignCommand(p),
    ),
    command(fc.record({ campaign, actor: fc.constantFrom(...ACTORS), contactIds: fc.uniqueArray(contact, { minLength: 1, maxLength: 3 }) }), (p) => new ReleaseCommand(p)),
    ...[1, 2, 3, 4].map(() =>
      command(
        fc.record({
          campaign,
          contactId: contact,
          kind: fc.oneof(
            weighted(3, fc.constant("initial_sent" as const)),
            weighted(3, fc.constant("contact_replied" as const)),
            weighted(2, fc.constant("texter_replied" as const)),
            weighted(1, fc.constant("closed" as const)),
          ),
          text: fc.option(fc.constantFrom("STOP", " stop. ", "Quit"), { nil: null, freq: 6 }),
        }),
        ({ campaign: c, contactId: id, kind, text }) => new MessagingCommand({ campaign: c, contactId: id, kind, optOutText: kind === "contact_replied" ? text : null }),
      ),
    ),
    command(contact, (contactId) => new OptOutCommand({ contactId })),
  ];
}

/** A random operation sequence for `fc.asyncModelRun`. */
export function operationSequence(options: SequenceOptions = {}): fc.Arbitrary<Iterable<fc.AsyncCommand<ModelWorld, RealWorld>>> {
  return fc.commands(commandArbitraries(options), { maxCommands: options.maxCommands ?? 60, size: "max" });
}

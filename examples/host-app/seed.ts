/**
 * Demo data, created on the first start of an empty database: an organization, its members, and a
 * launched campaign with 120 contacts, self assignment on, three senders and an invite link — so a
 * person can log in and click through at once. Every process calls it; the first one seeds.
 */
import { isAssignmentError, type Engine } from "selfassign";

export const ORG_ID = "vote-org";
export const DEMO_CAMPAIGN_ID = "gotv-demo";
/** The organization's first owner (a person: the seed creates the organization as them). */
export const OWNER_ID = "alice";

/**
 * The app itself, for what it does on its own authority (seeding, listing members for the log-in
 * picker, resuming bulk sends at start-up): a system actor (`createEngine({ systemActors })`), so its
 * events say `actorType: "system"` and no person is impersonated. No user can log in with this id.
 */
export const APP_ID = "system:host-app";

export const USERS: readonly { userId: string; role: "owner" | "admin" | "texter"; note: string }[] = [
  { userId: "alice", role: "owner", note: "owner: the admin page" },
  { userId: "olga", role: "admin", note: "admin" },
  { userId: "bob", role: "texter", note: "texter on the demo campaign" },
  { userId: "carol", role: "texter", note: "texter on the demo campaign" },
  { userId: "erin", role: "texter", note: "texter on the demo campaign" },
  { userId: "dave", role: "texter", note: "member, not a sender yet: use the invite link" },
];

export async function seed(engine: Engine): Promise<boolean> {
  try {
    await engine.createOrganization({ id: ORG_ID, name: "Vote Org", ownerId: OWNER_ID });
  } catch (error) {
    if (isAssignmentError(error) && error.code === "ALREADY_EXISTS") return false; // seeded before, or by another process now
    throw error;
  }
  const actor = { actorId: APP_ID };
  await engine.addMembers({ ...actor, orgId: ORG_ID, members: USERS.filter((u) => u.role !== "owner").map(({ userId, role }) => ({ userId, role })) });
  const campaign = await engine.createCampaign({ ...actor, orgId: ORG_ID, id: DEMO_CAMPAIGN_ID, title: "Get Out The Vote (demo)" });
  const zones = [null, "America/Chicago", "America/Denver", "America/Los_Angeles"];
  await engine.importContacts({
    ...actor,
    campaignId: campaign.id,
    contacts: Array.from({ length: 120 }, (_, i) => ({ contactId: `+1555010${String(1000 + i)}`, timeZone: zones[i % 4] })),
  });
  // Texting hours around the clock, so the demo works at any hour: change them on the admin page.
  await engine.updateCampaignSettings({ ...actor, campaignId: campaign.id, enabled: true, batchSize: 10, textingHoursStart: "00:00", textingHoursEnd: "24:00" });
  await engine.launchCampaign({ ...actor, campaignId: campaign.id });
  // Added after the launch, senders receive nothing automatically (C5): they press the button.
  await engine.addSenders({ ...actor, campaignId: campaign.id, userIds: ["bob", "carol", "erin"] });
  await engine.enableInviteLink({ ...actor, campaignId: campaign.id });
  return true;
}

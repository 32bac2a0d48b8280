/**
 * selfassign demo: a realistic campaign simulated on the in-memory default.
 *
 * An organization imports 20,000 contacts, launches with no senders, turns self assignment on
 * (batch 300) and shares an invite link. 25 volunteers join by the link and work concurrently:
 * they send initial messages, answer replies and press *Request Conversations* when their batch is
 * done, while contacts reply at random (a few text STOP). At the end the conversations overview is
 * printed, and every invariant is checked; any violation exits non-zero.
 *
 * Run: npm run demo
 */
import { createEngine, type Conversation } from "../src/index.js";
import { createMemoryStorage } from "../src/memory.js";
import { readAllEvents, replayHolders } from "../src/testing/event-replay.js";

const CONTACTS = Number(process.env.DEMO_CONTACTS ?? 20_000);
const TEXTERS = 25;
const BATCH = 300;

/** Small seeded PRNG (mulberry32) so every run tells the same story. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(2026);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const storage = createMemoryStorage();
  const engine = createEngine({ storage });
  const admin = "organizer";
  const org = await engine.createOrganization({ name: "Get Out The Vote", ownerId: admin });
  const texters = Array.from({ length: TEXTERS }, (_, i) => `volunteer-${String(i + 1).padStart(2, "0")}`);
  for (const t of texters) await engine.addMember({ actorId: admin, orgId: org.id, userId: t, role: "texter" });

  const campaign = await engine.createCampaign({ actorId: admin, orgId: org.id, title: "GOTV — final weekend" });
  const zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"];
  await engine.importContacts({
    actorId: admin,
    campaignId: campaign.id,
    contacts: Array.from({ length: CONTACTS }, (_, i) => ({ contactId: `voter-${i}`, timeZone: zones[i % zones.length]! })),
  });
  // The simulation runs on the real clock; a real campaign keeps its texting hours (T1).
  await engine.updateCampaignSettings({
    actorId: admin,
    campaignId: campaign.id,
    enabled: true,
    batchSize: BATCH,
    textingHoursStart: "00:00", textingHoursEnd: "24:00",
  });
  await engine.launchCampaign({ actorId: admin, campaignId: campaign.id });
  const { token } = await engine.enableInviteLink({ actorId: admin, campaignId: campaign.id });
  console.log(`Campaign "${campaign.title}": ${CONTACTS} conversations, self assignment on (batch ${BATCH}), invite link shared.`);

  const handedOut = new Map<string, string>(); // conversation → texter, from request results
  const problems: string[] = [];
  const note = (who: string, list: readonly Conversation[]) => {
    for (const c of list) {
      const previous = handedOut.get(c.id);
      if (previous !== undefined && previous !== who) {
        // Only legal if the previous holder gave it up; the demo never unassigns, so this is a violation.
        problems.push(`I1: ${c.id} handed to ${who} while ${previous} held it`);
      }
      handedOut.set(c.id, who);
    }
  };

  let requests = 0;
  let refusals = 0;
  let done = false;

  // Contacts reply at random to conversations whose initial message went out.
  const sent: string[] = [];
  const contacts = (async () => {
    while (!done) {
      await pause(2);
      for (let k = 0; k < 20 && sent.length > 0; k++) {
        const i = Math.floor(random() * sent.length);
        const id = sent[i]!;
        sent[i] = sent[sent.length - 1]!;
        sent.pop();
        if (random() < 0.35) {
          const text = random() < 0.08 ? "STOP" : "Yes, I plan to vote!";
          await engine.recordContactReply({ conversationId: id, text, autoOptOut: true });
        }
      }
    }
  })();

  const volunteer = async (texterId: string) => {
    await pause(random() * 200);
    const joined = await engine.joinByInvite({ token, userId: texterId });
    if (!joined.ok) throw new Error(`${texterId} could not join: ${joined.reason}`);
    note(texterId, joined.conversations);
    let idle = 0;
    while (idle < 40) {
      const mine = await engine.getAssignments({ actorId: texterId, campaignId: campaign.id, texterId, filter: "actionable" });
      // A volunteer works through ten messages at a time, then takes a breath.
      for (const c of mine.slice(0, 10)) {
        if (c.status === "not_started") {
          await engine.recordInitialSent({ conversationId: c.id });
          sent.push(c.id);
        } else if (c.status === "needs_reply") {
          await engine.recordTexterReply({ conversationId: c.id });
          if (random() < 0.3) await engine.closeConversation({ conversationId: c.id, actorId: texterId });
        }
      }
      await pause(15 + random() * 10);
      if (mine.length > 10 || mine.some((c) => c.status === "not_started")) continue;
      requests++;
      const r = await engine.requestConversations({ campaignId: campaign.id, texterId, idempotencyKey: `${texterId}-${requests}` });
      if (r.ok) {
        note(texterId, r.conversations);
        idle = 0;
      } else {
        refusals++;
        idle++;
        await pause(25);
      }
    }
  };

  const started = Date.now();
  const progress = setInterval(async () => {
    const o = await engine.getOverview({ actorId: admin, campaignId: campaign.id });
    const line = `  ${((Date.now() - started) / 1000).toFixed(1)}s  unassigned ${o.unassigned}  not started ${o.byStatus.not_started}  needs reply ${o.byStatus.needs_reply}  opted out ${o.byStatus.opted_out}  requests ${requests}`;
    process.stdout.write(process.stdout.isTTY ? `\r${line}` : `${line}\n`);
  }, 500);
  await Promise.all(texters.map(volunteer));
  done = true;
  await contacts;
  clearInterval(progress);
  if (process.stdout.isTTY) process.stdout.write("\n");

  // ---------------------------------------------------------------- the overview
  const o = await engine.getOverview({ actorId: admin, campaignId: campaign.id });
  console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)}s: ${requests} requests (${refusals} refused), ${CONTACTS} conversations.`);
  console.log("\nConversations overview (A1):");
  console.table({
    total: o.total,
    unassigned: o.unassigned,
    "unassigned not started": o.unassignedNotStarted,
    "unassigned needs reply": o.unassignedNeedsReply,
    ...Object.fromEntries(Object.entries(o.byStatus).map(([s, n]) => [`status ${s}`, n])),
  });
  console.table(o.senders.map((s) => ({ texter: s.userId, held: s.held, "not started": s.notStarted, "needs reply": s.needsReply })));

  // ---------------------------------------------------------------- invariants
  const rows = storage.inspect(campaign.id).conversations;
  if (rows.length !== CONTACTS) problems.push(`I2: ${rows.length} conversations stored, ${CONTACTS} imported`);
  if (new Set(rows.map((r) => r.id)).size !== rows.length) problems.push("I2: a conversation is stored twice");
  const senders = new Set((await engine.listSenders({ actorId: admin, campaignId: campaign.id, limit: 1000 })).items.map((s) => s.userId));
  for (const r of rows) if (r.holder !== null && !senders.has(r.holder)) problems.push(`I2: ${r.id} held by non-sender ${r.holder}`);
  const held = o.senders.reduce((n, s) => n + s.held, 0);
  // A1: opted-out conversations count in the total only (never as held or unassigned work).
  if (held + o.unassigned + o.byStatus.opted_out !== o.total) {
    problems.push(`A1: held ${held} + unassigned ${o.unassigned} + opted out ${o.byStatus.opted_out} != total ${o.total}`);
  }
  for (const r of rows) {
    if (r.holder !== null && handedOut.get(r.id) !== r.holder) problems.push(`I1: ${r.id} is held by ${r.holder}, but was handed to ${handedOut.get(r.id)}`);
  }
  try {
    const replay = replayHolders(await readAllEvents((a, l) => engine.readEvents({ after: a, limit: l })), campaign.id);
    for (const r of rows) if ((replay.get(r.id) ?? null) !== r.holder) problems.push(`Events: ${r.id} replays to ${replay.get(r.id)}, stored ${r.holder}`);
  } catch (error) {
    problems.push(String(error));
  }
  if (problems.length > 0) {
    console.error(`\nINVARIANTS BROKEN (${problems.length}):`);
    for (const p of problems.slice(0, 20)) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log("\nInvariants hold: no conversation handed to two texters (I1), none lost or duplicated (I2), counts match (A1), events replay to the stored state.");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

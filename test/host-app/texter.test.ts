/**
 * The reference host app's texter page, driven in headless Chromium: requesting, the order of the
 * list, sending, every refusal in words, joining by invite link, and the inbound webhook.
 * One app process on a fresh SQLite file, seeded with the demo (texting hours 00:00–24:00).
 */
import type { Browser, Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_CAMPAIGN, type RunningApp, deliver, listed, logIn, openTexter, request, submit, windowAwayFromNow, useApp } from "./support.js";

// Functions passed to page.evaluate run in the browser; the project compiles without the DOM library.
declare const window: any, document: any;

const shared = useApp();
let app: RunningApp;
let browser: Browser;
let admin: Page;
beforeAll(() => void ({ app, browser, admin } = shared));

/** Change the demo campaign's settings on the admin page, as alice. */
async function settings(fields: Record<string, string>): Promise<void> {
  await admin.goto(`/admin?c=${DEMO_CAMPAIGN}`);
  for (const [name, value] of Object.entries(fields)) await admin.fill(`#settings-form [name=${name}]`, value);
  await submit(admin, "#settings-form button");
  expect(await admin.textContent(".notice")).toContain("Settings saved");
}

async function adminButton(selector: string): Promise<void> {
  await admin.goto(`/admin?c=${DEMO_CAMPAIGN}`);
  await submit(admin, selector);
}

/** Send the first message of every listed not-started conversation (the first `limit` of them). */
async function sendFirstMessages(page: Page, limit = Infinity): Promise<void> {
  for (let i = 0; i < limit; i++) {
    const button = page.locator("#actionable li.conv[data-status=not_started] button").first();
    if ((await button.count()) === 0) return;
    await submit(page, button);
  }
}

describe("host app, texter page (Chromium)", { timeout: 120_000 }, () => {
  it("S2, S3, S8: Request Conversations gives a batch; a double click and a retry send the same idempotency key and assign nothing more", async () => {
    const { page } = await logIn(browser, app, "bob");
    await openTexter(page);
    const key = await page.inputValue("#request-form input[name=key]");
    expect(await request(page)).toContain("You got 10 conversations");
    expect(await listed(page)).toHaveLength(10);

    // A network retry of the same click (same form fields, so the same key) is answered with the
    // stored result (S8).
    const retry = await page.request.post("/texter/request", { form: { c: DEMO_CAMPAIGN, key } });
    expect(new URL(retry.url()).searchParams.get("n")).toBe("replayed:10");

    // A double click: every POST it makes carries one key, and one batch is assigned.
    const { page: erin } = await logIn(browser, app, "erin");
    await openTexter(erin);
    const keys: string[] = [];
    erin.on("request", (r) => {
      if (r.url().endsWith("/texter/request")) keys.push(new URLSearchParams(r.postData() ?? "").get("key") ?? "");
    });
    await Promise.all([erin.waitForEvent("load"), erin.dblclick("#request")]);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(new Set(keys).size).toBe(1);
    await openTexter(erin);
    expect(await listed(erin)).toHaveLength(10);
  });

  it("S6, M1: replies first (oldest first), then not started, the rest folded away; pages update live; sending moves a conversation along", async () => {
    const { page } = await logIn(browser, app, "bob");
    await openTexter(page);
    await sendFirstMessages(page, 4);
    const sent = (await listed(page)).filter((c) => c.status === "initial_sent");
    expect(sent).toHaveLength(4);
    expect(await page.isVisible("details#rest li.conv")).toBe(false); // folded (S6)

    // Two contacts answer, the later one in the list first: the page changes without a reload.
    await page.evaluate(() => (window.marker = 1));
    expect((await deliver(app, { messageId: "m-1", from: sent[2]!.contact, text: "Where do I vote?" })).status).toBe("needs_reply");
    expect((await deliver(app, { messageId: "m-2", from: sent[0]!.contact, text: "Yes!" })).status).toBe("needs_reply");
    await page.waitForFunction(() => document.querySelectorAll("#actionable li.conv[data-status=needs_reply]").length === 2);
    expect(await page.evaluate(() => window.marker)).toBe(1); // no reload
    const order = await listed(page);
    expect(order.slice(0, 2).map((c) => c.contact)).toEqual([sent[2]!.contact, sent[0]!.contact]); // oldest reply first (S4)
    expect(order.slice(2, 8).every((c) => c.status === "not_started")).toBe(true);
    expect(order.slice(8).map((c) => c.status)).toEqual(["initial_sent", "initial_sent"]);
    expect(await page.textContent("#actionable li.conv[data-status=needs_reply] .msgs")).toContain("Where do I vote?");

    // Answer the first reply: it goes to the folded part.
    const first = page.locator("#actionable li.conv[data-status=needs_reply]").first();
    await first.locator("textarea").fill("At the school on Main St, 7am–8pm.");
    await submit(page, first.locator("button"));
    expect((await listed(page)).find((c) => c.contact === sent[2]!.contact)?.status).toBe("replied");
    await page.click("details#rest summary");
    expect(await page.textContent("details#rest")).toContain("At the school on Main St");
  });

  it("M3, O3: the webhook answers every ordinary event: a STOP opts out, a duplicate delivery and a late reply are no errors", async () => {
    const { page } = await logIn(browser, app, "bob");
    await openTexter(page);
    const waiting = (await listed(page)).filter((c) => c.status === "initial_sent");
    expect(waiting.length).toBeGreaterThan(0);
    const contact = waiting[0]!.contact;
    expect(await deliver(app, { messageId: "stop-1", from: contact, text: "STOP" })).toMatchObject({ result: "opted_out", status: "opted_out" });
    expect(await deliver(app, { messageId: "stop-1", from: contact, text: "STOP" })).toMatchObject({ result: "duplicate" });
    expect(await deliver(app, { messageId: "late-1", from: contact, text: "sorry, I meant yes" })).toMatchObject({ result: "ignored", status: "opted_out" });
    expect(await deliver(app, { messageId: "who-1", from: "+15559999999", text: "hi" })).toMatchObject({ result: "unknown_contact" });
    const bad = await fetch(`${app.url}/webhooks/sms`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(bad.status).toBe(401);
    // Live, without a reload: the conversation is in the folded part, marked opted out.
    await page.waitForSelector(`details#rest li.conv[data-contact="${contact}"][data-status=opted_out]`, { state: "attached" });
  });

  it("L2, L3: an invite link gives a member a first batch; a stranger, a wrong and a revoked link each get their own message", async () => {
    await admin.goto(`/admin?c=${DEMO_CAMPAIGN}`);
    const link = await admin.inputValue("#invite-link");
    const path = new URL(link).pathname;

    const { page: dave } = await logIn(browser, app, "dave");
    await dave.goto("/texter");
    expect(await dave.textContent("main")).toContain("not a texter on any campaign");
    await dave.fill("input[name=link]", link);
    await submit(dave, "text=Open");
    await submit(dave, "#join");
    expect(await dave.textContent(".notice")).toContain("You joined the campaign and got a first batch of 10");

    const { page: frank } = await logIn(browser, app, "frank"); // not a member of the organization
    await frank.goto(path);
    await submit(frank, "#join");
    expect(await frank.textContent(".notice")).toContain("You are not a member of this organization");

    await frank.goto("/join/not-a-real-token");
    await submit(frank, "#join");
    expect(await frank.textContent(".notice")).toContain("This invite link is not valid");

    await adminButton("button[value=disable]"); // Revoke
    await dave.goto(path);
    await submit(dave, "#join");
    expect(await dave.textContent(".notice")).toContain("This invite link was turned off");
    await adminButton("#enable-invite");
    expect(await admin.inputValue("#invite-link")).not.toBe(link); // a new token (L4)
  });

  it("S5, T1, S7, S2, C7: each refusal gets its own message — batch unfinished, outside texting hours with when they open, cap reached, nothing available, paused", async () => {
    const { page: bob } = await logIn(browser, app, "bob");
    await openTexter(bob);
    expect(await request(bob)).toContain("Finish your current batch first"); // he still has conversations to start

    const { page: carol } = await logIn(browser, app, "carol");
    await openTexter(carol);
    const away = windowAwayFromNow("America/New_York");
    await settings({ textingHoursStart: away.start, textingHoursEnd: away.end });
    await openTexter(carol);
    const outside = await request(carol);
    expect(outside).toContain(`Outside texting hours: ${away.start}–${away.end} America/New_York`);
    expect(outside).toMatch(new RegExp(`Texting opens at ${away.start} \\(in \\d+ h \\d+ min\\)`));

    await settings({ textingHoursStart: "00:00", textingHoursEnd: "24:00", maxHeldPerTexter: "4" });
    await openTexter(carol);
    expect(await request(carol)).toContain("You got 4 conversations");
    await sendFirstMessages(carol);
    expect(await request(carol)).toContain("You hold 4 conversations, the most one texter may hold");

    // Everything left goes to erin (Reassign All from the pool): nothing is left to hand out.
    await settings({ maxHeldPerTexter: "" });
    await admin.goto(`/admin?c=${DEMO_CAMPAIGN}`);
    await admin.check("#reassign-form input[name=mode][value=all]");
    await admin.check("#reassign-form input[name=from][value=unassigned]");
    await admin.check("#reassign-form input[name=to][value=erin]");
    await submit(admin, "#reassign-form button");
    expect(Number(await admin.getAttribute("#unassigned", "data-count"))).toBe(0);
    await openTexter(carol);
    expect(await request(carol)).toContain("Nothing to hand out right now");

    await adminButton("button[value=pause]");
    await openTexter(carol);
    expect(await request(carol)).toContain("This campaign is paused");
    await adminButton("button[value=resume]");
  });
});

/**
 * The reference host app's admin page, driven in headless Chromium: a campaign from a CSV upload to
 * launch (with bulk send), the overview changing live as texters work, the bulk operations, and the
 * screenshots of both pages for the docs (docs/screenshots/).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, deliver, listed, logIn, openTexter, request, screenshot, submit, useApp } from "./support.js";

// Functions passed to page.evaluate run in the browser; the project compiles without the DOM library.
declare const window: any, document: any, MutationObserver: any;

const shared = useApp();
let app: RunningApp;
let browser: Browser;
let admin: Page;
let campaignId = "";
beforeAll(() => void ({ app, browser, admin } = shared));

/** The overview's figures for one sender, as the chart shows them. */
async function row(page: Page, sender: string): Promise<{ held: number; notStarted: number; needsReply: number }> {
  const el = page.locator(`#chart .row[data-sender="${sender}"]`);
  const n = async (a: string) => Number(await el.getAttribute(a));
  return { held: await n("data-held"), notStarted: await n("data-not-started"), needsReply: await n("data-needs-reply") };
}

/** Wait until the live overview shows `held` for a sender (no reload: the page's marker survives). */
async function waitForHeld(page: Page, sender: string, held: number): Promise<void> {
  await page.waitForSelector(`#chart .row[data-sender="${sender}"][data-held="${held}"]`, { state: "attached" });
}

async function openAdmin(page: Page, id: string): Promise<void> {
  await page.goto(`/admin?c=${encodeURIComponent(id)}`);
  await page.waitForSelector("body[data-live=connected]");
  await page.evaluate(() => (window.marker = 1));
}

const notReloaded = (page: Page) => page.evaluate(() => window.marker === 1);

describe("host app, admin page (Chromium)", { timeout: 120_000 }, () => {
  it("C1, C2: create a campaign, import a CSV upload with progress and a report of the rejected rows; importing again skips what is there", async () => {
    await admin.goto("/admin");
    await admin.fill("input[name=title]", "Spring canvass");
    await submit(admin, "text=Create campaign");
    expect(await admin.textContent(".notice")).toContain('Campaign "Spring canvass" created (draft)');
    campaignId = new URL(admin.url()).searchParams.get("c")!;

    const rows = Array.from({ length: 5000 }, (_, i) => `(555) 03${String(i).padStart(5, "0").slice(0, 1)}-${String(i).padStart(4, "0").slice(-4)},${i % 3 === 0 ? "America/Chicago" : ""}`);
    const bad = ["12345,", ",America/Denver", "+15550499999,Mars/Olympus", `${rows[1]!.split(",")[0]},`];
    const csv = join(shared.dir, "contacts.csv");
    writeFileSync(csv, ["phone,timezone", ...rows.slice(0, 2), ...bad, ...rows.slice(2)].join("\r\n"));

    // Record what the progress label says while the import runs.
    await admin.evaluate(() => {
      const seen: string[] = (window.seen = []);
      new MutationObserver((records: { addedNodes: { textContent: string | null }[] }[]) => records.forEach((r) => r.addedNodes.forEach((n) => seen.push(n.textContent ?? "")))).observe(document.getElementById("import-status")!, { childList: true });
    });
    await admin.setInputFiles("#import-form input[type=file]", csv);
    await admin.click("#import-form button");
    await admin.waitForSelector("#import-result");
    expect(await admin.textContent("#import-result")).toBe("5000 imported, 0 already in the campaign, 4 rejected.");
    const report = await admin.$$eval("#import-report tr", (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(report).toEqual([
      ["4", "12345", "not a phone number"],
      ["5", "", "phone missing"],
      ["6", "Mars/Olympus", "unknown time zone"],
      ["7", rows[1]!.split(",")[0], "same phone as line 3"],
    ]);
    const seen: string[] = await admin.evaluate(() => window.seen);
    expect(seen).toContain("Importing 2,000 of 5,000");
    expect(seen.at(-1)).toBe("Done");
    expect(await admin.getAttribute("#import-progress", "value")).toBe("5000");

    await admin.click("#import-form button"); // the same file again (C2)
    await admin.waitForFunction(() => document.getElementById("import-result")?.textContent?.startsWith("0 imported"));
    expect(await admin.textContent("#import-result")).toBe("0 imported, 5000 already in the campaign, 4 rejected.");
  });

  it("S1, C6, C5, A1: settings, a launch with bulk send and its progress; the overview chart changes live as texters work", async () => {
    await admin.goto(`/admin?c=${campaignId}`);
    await admin.check("#settings-form input[name=enabled]");
    await admin.fill("#settings-form [name=batchSize]", "5");
    await admin.fill("#settings-form [name=textingHoursStart]", "00:00");
    await admin.fill("#settings-form [name=textingHoursEnd]", "24:00");
    await submit(admin, "#settings-form button");
    expect(await admin.textContent(".notice")).toBe("Settings saved.");
    await admin.check("input[name=userId][value=bob]");
    await admin.check("input[name=userId][value=carol]");
    await submit(admin, "text=Add senders");
    expect(await admin.textContent("#senders")).toBe("bob, carol");

    await admin.check("input[name=bulkSend]");
    await submit(admin, "#launch");
    expect(await admin.textContent(".notice")).toContain("the bulk send is running");
    await openAdmin(admin, campaignId);
    await admin.waitForFunction(() => document.getElementById("status")?.textContent === "active", undefined, { timeout: 60_000 }); // live (C6)
    expect(await notReloaded(admin)).toBe(true);
    expect(await admin.textContent("#overview")).not.toContain("Bulk send: 0 of");
    expect(await row(admin, "bob")).toEqual({ held: 0, notStarted: 0, needsReply: 0 }); // a bulk-send launch splits nothing, C5

    const { page: bob } = await logIn(browser, app, "bob");
    await openTexter(bob, campaignId);
    expect(await request(bob)).toContain("You got 5 conversations");
    await waitForHeld(admin, "bob", 5);
    const contact = (await listed(bob))[3]!.contact;
    expect((await deliver(app, { campaignId, messageId: "spring-1", from: contact, text: "Count me in" })).status).toBe("needs_reply");
    await admin.waitForSelector(`#chart .row[data-sender="bob"][data-needs-reply="1"]`, { state: "attached" });

    const { page: carol } = await logIn(browser, app, "carol");
    await openTexter(carol, campaignId);
    expect(await request(carol)).toContain("You got 5 conversations");
    await waitForHeld(admin, "carol", 5);
    expect(await notReloaded(admin)).toBe(true);
    expect(Number(await admin.getAttribute("#unassigned", "data-count"))).toBe(4990);
  });

  it("A3, A4, A2, C1: Reassign Some from a sender, Reassign All needing a reply, Unassign All, then archive", async () => {
    await admin.goto(`/admin?c=${campaignId}`);
    await admin.check("#reassign-form input[name=from][value=bob]");
    await admin.check("#reassign-form input[name=to][value=carol]");
    await admin.fill("#reassign-form input[name=count]", "2");
    await submit(admin, "#reassign-form button");
    expect(await admin.textContent(".notice")).toBe("2 conversations reassigned.");
    expect(await row(admin, "bob")).toEqual({ held: 3, notStarted: 0, needsReply: 0 }); // best first: the reply went too
    expect(await row(admin, "carol")).toEqual({ held: 7, notStarted: 0, needsReply: 1 });

    await admin.check("#reassign-form input[name=mode][value=all]");
    await admin.selectOption("#reassign-form select[name=filter]", "needs_reply");
    await admin.check("#reassign-form input[name=from][value=carol]");
    await admin.check("#reassign-form input[name=to][value=bob]");
    await submit(admin, "#reassign-form button");
    expect(await admin.textContent(".notice")).toBe("1 conversations reassigned.");
    expect((await row(admin, "bob")).needsReply).toBe(1);

    await submit(admin, "#unassign-all");
    expect(await admin.textContent(".notice")).toBe("10 conversations unassigned.");
    expect(await row(admin, "bob")).toEqual({ held: 0, notStarted: 0, needsReply: 0 });
    expect(await admin.textContent("#unassigned")).toContain("(0 to start, 1 need a reply)");

    await submit(admin, "button[value=archive]");
    expect(await admin.textContent(".notice")).toBe("Campaign is archived now.");
    const { page: bob } = await logIn(browser, app, "bob");
    await openTexter(bob, campaignId);
    expect(await request(bob)).toContain("This campaign is archived");
  });

  it("screenshots of both pages on the demo campaign (docs/screenshots/texter.png, admin.png)", async () => {
    const demo = "gotv-demo";
    await openAdmin(admin, demo);
    const texters = await Promise.all(["bob", "carol", "erin"].map(async (name) => (await logIn(browser, app, name)).page));
    for (const page of texters) {
      await openTexter(page, demo);
      expect(await request(page)).toContain("You got 10 conversations");
    }
    const [bob, carol] = texters as [Page, Page, Page];
    for (const [page, sends] of [[bob, 5], [carol, 8]] as const) {
      for (let i = 0; i < sends; i++) await submit(page, page.locator("#actionable li.conv[data-status=not_started] button").first());
    }
    const answers = ["Where is my polling place?", "Yes! Already planning to.", "What time do polls close?"];
    const bobs = (await listed(bob)).filter((c) => c.status === "initial_sent");
    const carols = (await listed(carol)).filter((c) => c.status === "initial_sent");
    for (const [i, c] of [bobs[3]!, bobs[1]!, carols[0]!].entries()) await deliver(app, { messageId: `shot-${i}`, from: c.contact, text: answers[i]! });
    await bob.waitForSelector("#actionable li.conv[data-status=needs_reply] >> nth=1");
    await admin.waitForSelector(`#chart .row[data-sender="carol"][data-needs-reply="1"]`, { state: "attached" });
    expect(await notReloaded(admin)).toBe(true);
    await bob.click("details#rest summary");
    await screenshot(bob, "texter");
    await screenshot(admin, "admin");
  });
});

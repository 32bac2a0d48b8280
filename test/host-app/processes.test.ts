/**
 * The reference host app as several processes on one database — a SQLite file, and PostgreSQL (the
 * test server, a database of its own) — started at the same moment (so both run the seed): texters
 * on different processes pressing the button together never get the same conversation (I1), and an
 * admin on one process sees a texter on the other live.
 */
import { join } from "node:path";
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEMO_CAMPAIGN, type RunningApp, launchBrowser, listed, logIn, openTexter, request, startApp, submit, tempDir } from "./support.js";

// Functions passed to page.evaluate run in the browser; the project compiles without the DOM library.
declare const window: any;

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject("databaseUrl") });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own on the test server: its URL and how to drop it. */
async function postgresDatabase(): Promise<{ env: Record<string, string>; remove: () => Promise<void> }> {
  const name = `host_app_${process.pid}_${Date.now().toString(36)}`;
  await onServer((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(inject("databaseUrl"));
  url.pathname = `/${name}`;
  return { env: { DATABASE_URL: url.toString() }, remove: () => onServer((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined) };
}

async function sqliteDatabase(): Promise<{ env: Record<string, string>; remove: () => Promise<void> }> {
  const tmp = tempDir();
  return { env: { SQLITE_FILE: join(tmp.dir, "demo.db") }, remove: async () => tmp.remove() };
}

describe.each([
  ["SQLite file", sqliteDatabase],
  ["PostgreSQL", postgresDatabase],
])("host app, two processes on one %s (Chromium)", { timeout: 120_000 }, (_label, database) => {
  let apps: RunningApp[] = [];
  let db: Awaited<ReturnType<typeof database>>;

  beforeAll(async () => {
    db = await database();
    apps = await Promise.all([startApp(db.env), startApp(db.env)]); // both seed at once: one wins, one finds it done
    expect(apps.filter((a) => a.output().includes("seeded the demo")).length).toBe(1);
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await db?.remove();
  });

  it("I1: texters on two processes pressing Request Conversations at the same moment never get the same conversation; an admin on one sees the other live", async () => {
    const [a, b] = apps as [RunningApp, RunningApp];
    const { page: admin } = await logIn(browser, b, "alice");
    await admin.goto(`/admin?c=${DEMO_CAMPAIGN}`);
    await admin.waitForSelector("body[data-live=connected]");

    // bob and erin on process A, carol on process B.
    const texters: [string, RunningApp][] = [["bob", a], ["carol", b], ["erin", a]];
    const pages: Page[] = [];
    for (const [name, app] of texters) {
      const { page } = await logIn(browser, app, name);
      await openTexter(page);
      pages.push(page);
    }
    const seen = new Map<string, string>(); // conversation id → texter
    for (let round = 0; round < 2; round++) {
      const notices = await Promise.all(pages.map((p) => request(p)));
      for (const n of notices) expect(n).toContain("You got 10 conversations");
      for (const [i, page] of pages.entries()) {
        for (const c of await listed(page)) {
          const other = seen.get(c.id);
          expect(other === undefined || other === texters[i]![0], `${c.id} listed for ${other} and ${texters[i]![0]}`).toBe(true);
          seen.set(c.id, texters[i]![0]);
        }
      }
      // Open the gate (S5) so they may request again without finishing their batch first.
      if (round === 0) {
        await admin.selectOption("#settings-form select[name=gate]", "none");
        await submit(admin, "#settings-form button");
        expect(await admin.textContent(".notice")).toBe("Settings saved.");
        await admin.waitForSelector("body[data-live=connected]");
        await admin.evaluate(() => (window.marker = 1));
      }
    }
    expect(seen.size).toBe(60);
    // The admin page on process B, never reloaded, shows what texters on A did.
    for (const [name] of texters) await admin.waitForSelector(`#chart .row[data-sender="${name}"][data-held="20"]`, { state: "attached", timeout: 20_000 });
    expect(Number(await admin.getAttribute("#unassigned", "data-count"))).toBe(60);
    expect(await admin.evaluate(() => window.marker)).toBe(1); // updated live, not reloaded
  });
});

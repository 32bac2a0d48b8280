/**
 * What the host-app browser tests share: the app started as its own process (as `npm run example`
 * starts it, on a free port and a fresh database), headless Chromium driven by playwright-core, and
 * the demo's log-in picker.
 *
 * Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it), found at
 * `/usr/bin/chromium` or `CHROMIUM_PATH`. The app's seed sets the demo campaign's texting hours to
 * 00:00–24:00, so no test depends on the hour it runs; the one that needs "outside texting hours"
 * picks a window away from the current time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll } from "vitest";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const SCREENSHOTS = join(ROOT, "docs", "screenshots");
export const DEMO_CAMPAIGN = "gotv-demo";
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A running app process. */
export interface RunningApp {
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** A temporary directory for a SQLite file, removed by `remove()`. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "selfassign-host-app-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Start the example app (`examples/host-app/main.ts` through tsx, with its tsconfig) on a free port.
 * No fake replies and no send delay unless `env` says so: the tests post replies themselves.
 */
export async function startApp(env: Record<string, string>): Promise<RunningApp> {
  const tsx = join(ROOT, "node_modules", ".bin", "tsx");
  const child: ChildProcess = spawn(tsx, ["--tsconfig", "examples/host-app/tsconfig.json", "examples/host-app/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", FAKE_REPLY_RATE: "0", FAKE_SMS_DELAY_MS: "0", LIVE_POLL_MS: "200", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the app did not start in 60 s:\n${out}`)), 60_000);
    const look = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) (clearTimeout(timer), ok(m[1]!));
    };
    child.stdout!.on("data", look);
    child.once("exit", (code) => (clearTimeout(timer), fail(new Error(`the app exited with ${code}:\n${out}`))));
  });
  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** What {@link useApp} gives a test file. */
export interface AppUnderTest {
  app: RunningApp;
  browser: Browser;
  /** alice (the owner), logged in. */
  admin: Page;
  /** The app's temporary directory. */
  readonly dir: string;
}

/** For a test file: the app on a fresh SQLite file, a browser, alice logged in; all stopped afterwards. */
export function useApp(): AppUnderTest {
  const tmp = tempDir();
  const t = { dir: tmp.dir } as AppUnderTest;
  beforeAll(async () => {
    [t.app, t.browser] = await Promise.all([startApp({ SQLITE_FILE: join(tmp.dir, "demo.db") }), launchBrowser()]);
    t.admin = (await logIn(t.browser, t.app, "alice")).page;
  });
  afterAll(async () => {
    await t.browser?.close();
    await t.app?.stop();
    tmp.remove();
  });
  return t;
}

/** Headless Chromium. Playwright gives every launch a fresh user data directory. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  // libfaketime (CI's night run) is for the app's clock; Chromium keeps the real one.
  const { LD_PRELOAD: _preload, FAKETIME: _faketime, ...env } = process.env;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: env as Record<string, string>,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A new browser context (its own cookies: one person) logged in as `userId` through the picker. */
export async function logIn(browser: Browser, app: RunningApp, userId: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, baseURL: app.url });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto("/login");
  await page.fill("input[name=userId]:not([type=hidden])", userId);
  await page.click("form:has(input[name=userId]:not([type=hidden])) button");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  return { context, page };
}

/** Open the texter page of the demo campaign (or `campaignId`). */
export async function openTexter(page: Page, campaignId = DEMO_CAMPAIGN): Promise<void> {
  await page.goto(`/texter?c=${encodeURIComponent(campaignId)}`);
  await page.waitForSelector("body[data-live=connected]"); // the live stream is open
}

/** The conversations listed on the texter page, in page order. */
export async function listed(page: Page): Promise<{ contact: string; status: string; id: string }[]> {
  return page.$$eval("#conversations li.conv", (els: { dataset: Record<string, string> }[]) =>
    els.map((e) => ({ contact: e.dataset.contact!, status: e.dataset.status!, id: e.dataset.conversation! })),
  );
}

/** Click a button that posts a form, and wait for the page it leads to (after the redirect). */
export async function submit(page: Page, target: string | Locator): Promise<void> {
  const button = typeof target === "string" ? page.locator(target) : target;
  await Promise.all([page.waitForEvent("load"), button.click()]);
}

/** Press *Request Conversations* and return the notice shown. */
export async function request(page: Page): Promise<string> {
  await submit(page, "#request");
  return (await page.textContent(".notice")) ?? "";
}

/** The inbound webhook, as the SMS provider calls it. */
export async function deliver(app: RunningApp, message: { messageId: string; from: string; text: string; campaignId?: string }): Promise<{ result: string; status: string | null }> {
  const res = await fetch(`${app.url}/webhooks/sms`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-webhook-token": "dev-webhook-token" },
    body: JSON.stringify({ campaignId: DEMO_CAMPAIGN, ...message }),
  });
  if (!res.ok) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { result: string; status: string | null };
}

/** Save a screenshot for the docs (docs/screenshots/<name>.png). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Local minutes since midnight in a zone now, and a one-hour texting window that excludes now. */
export function windowAwayFromNow(zone: string): { start: string; end: string } {
  const [h] = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", hourCycle: "h23" }).format(Date.now()).split(":").map(Number) as [number];
  return h < 12 ? { start: "20:00", end: "21:00" } : { start: "02:00", end: "03:00" };
}

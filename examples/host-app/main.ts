/**
 * selfassign reference host app — start here.
 *
 *   npm run example                                   # SQLite file examples/host-app/data/demo.db
 *   DATABASE_URL=postgres://… npm run example         # PostgreSQL
 *   PORT=3001 npm run example                         # a second process on the same database
 *
 * Environment: PORT (default 3000; 0 picks a free one), HOST (127.0.0.1), DATABASE_URL, SQLITE_FILE,
 * SESSION_SECRET and WEBHOOK_TOKEN (shared by all processes), FAKE_REPLY_RATE (0–1, default 0.3),
 * FAKE_SMS_DELAY_MS (default 20), LIVE_POLL_MS (default 500).
 */
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { createAuth } from "./auth.js";
import { createBulkSender } from "./bulk.js";
import { createLiveHub } from "./live.js";
import { APP_ID, ORG_ID, seed } from "./seed.js";
import { createFakeSms } from "./sms.js";
import { openBackend } from "./storage.js";

const env = process.env;
const port = Number(env.PORT ?? 3000);
const host = env.HOST ?? "127.0.0.1";
const backend = await openBackend({
  databaseUrl: env.DATABASE_URL,
  sqliteFile: env.SQLITE_FILE ?? fileURLToPath(new URL("./data/demo.db", import.meta.url)),
});
const { engine, log } = backend;
if (await seed(engine)) console.log("seeded the demo organization and campaign");

const live = createLiveHub(engine, { pollMs: Number(env.LIVE_POLL_MS ?? 500) });
const webhookToken = env.WEBHOOK_TOKEN ?? "dev-webhook-token";
// The server's address is known once it listens (PORT=0); the fake provider and links read it then.
let baseUrl = env.PUBLIC_URL ?? "";
const sms = createFakeSms({
  get webhookUrl() {
    return `${baseUrl}/webhooks/sms`;
  },
  webhookToken,
  replyRate: Number(env.FAKE_REPLY_RATE ?? 0.3),
  delayMs: Number(env.FAKE_SMS_DELAY_MS ?? 20),
});
const bulk = createBulkSender(engine, sms, log);
const auth = createAuth(env.SESSION_SECRET ?? "dev-only-secret: set SESSION_SECRET in production");
const deps = {
  engine, log, auth, live, bulk, sms, webhookToken,
  get baseUrl() {
    return baseUrl;
  },
};

const server = serve({ fetch: createApp(deps).fetch, port, hostname: host }, (info: AddressInfo) => {
  baseUrl ||= `http://${host}:${info.port}`;
  console.log(`selfassign host app listening on http://${host}:${info.port} (${backend.label})`);
});

// A bulk send a crash or restart interrupted goes on (any number of processes may run workers).
const campaigns = await engine.listCampaigns({ actorId: APP_ID, orgId: ORG_ID, limit: 1000 });
for (const c of campaigns.items) if (c.status === "bulk_sending") bulk.start(c.id);

// Graceful shutdown: stop taking requests, end the live streams and workers, close the database.
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  live.close();
  bulk.stop();
  server.close();
  if ("closeAllConnections" in server) server.closeAllConnections(); // open event streams
  await backend.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

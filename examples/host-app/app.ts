/**
 * The web app: log-in picker, the texter and admin pages, live updates (server-sent events) and the
 * inbound SMS webhook. Everything it needs comes in as `Deps`, so tests and `main.ts` wire it alike.
 */
import { Hono } from "hono";
import { html } from "hono/html";
import { streamSSE } from "hono/streaming";
import { isAssignmentError, type Engine } from "selfassign";
import { adminRoutes } from "./admin.js";
import type { Auth, AuthEnv } from "./auth.js";
import type { BulkSender } from "./bulk.js";
import type { LiveHub } from "./live.js";
import { errorMessage } from "./messages.js";
import { APP_ID, ORG_ID, USERS } from "./seed.js";
import type { FakeSms, InboundSms } from "./sms.js";
import type { MessageLog } from "./storage.js";
import { texterRoutes } from "./texter.js";
import { CSS, JS, layout, notice } from "./views.js";

export interface Deps {
  readonly engine: Engine;
  readonly log: MessageLog;
  readonly auth: Auth;
  readonly live: LiveHub;
  readonly bulk: BulkSender;
  readonly sms: FakeSms;
  /** Where browsers reach us (for invite links). */
  readonly baseUrl: string;
  /** What the SMS provider must send in `x-webhook-token`. */
  readonly webhookToken: string;
}

export function createApp(d: Deps) {
  const app = new Hono<AuthEnv>();

  app.get("/static/app.css", (c) => c.body(CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/static/app.js", (c) => c.body(JS, 200, { "content-type": "text/javascript; charset=utf-8" }));

  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/", async (c) => {
    const userId = await d.auth.currentUser(c);
    if (userId === null) return c.redirect("/login");
    const member = await d.engine.getMember({ actorId: userId, orgId: ORG_ID, userId }).catch(() => null);
    return c.redirect(member?.role === "owner" || member?.role === "admin" ? "/admin" : "/texter");
  });

  // The "log in as" picker: the demo's stand-in for a real log-in (see auth.ts).
  app.get("/login", async (c) => {
    // The app lists the members on its own authority, as its system actor.
    const members = (await d.engine.listMembers({ actorId: APP_ID, orgId: ORG_ID, limit: 100 })).items;
    const note = (id: string) => USERS.find((u) => u.userId === id)?.note ?? "";
    const next = c.req.query("next") ?? "/";
    const body = html`<h1>Log in as…</h1><section><p class="muted">A demo stand-in for your real log-in: pick anybody.</p>
      ${members.map((m) => html`<form method="post" action="/login" class="inline"><input type="hidden" name="next" value="${next}">
        <button name="userId" value="${m.userId}" class="secondary" title="${note(m.userId)}">${m.userId} · ${m.role}</button></form> `)}
      <form method="post" action="/login"><p><input type="hidden" name="next" value="${next}"><input name="userId" placeholder="any other user id" required> <button class="secondary">Log in</button></p></form>
      </section>`;
    return c.html(layout({ title: "Log in", userId: await d.auth.currentUser(c), body }));
  });
  app.post("/login", async (c) => {
    const form = await c.req.parseBody();
    await d.auth.logIn(c, String(form.userId ?? "").trim());
    const next = String(form.next ?? "/");
    return c.redirect(next.startsWith("/") && !next.startsWith("//") ? next : "/", 303);
  });

  // Live: the campaign's events as server-sent events; the page fetches its live parts again.
  app.get("/live", d.auth.required(), async (c) => {
    const campaignId = c.req.query("c") ?? "";
    // 404 for a campaign that does not exist. The stream carries only event types and positions; the
    // parts the page then fetches are checked by the engine (a real app may check access here too).
    await d.engine.getCampaign(campaignId);
    return streamSSE(c, async (sse) => {
      const queue: string[] = [];
      let wake = () => {};
      const stop = d.live.subscribe(campaignId, (e) => {
        queue.push(JSON.stringify({ seq: e.seq, type: e.type }));
        wake();
      });
      sse.onAbort(() => wake());
      try {
        while (!sse.aborted) {
          while (queue.length > 0) await sse.writeSSE({ data: queue.shift()! });
          // Sleep until an event or the browser leaves; every 15 s of silence, a comment line keeps
          // proxies from closing the stream.
          const idle = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), 15_000);
            wake = () => (clearTimeout(timer), resolve(false));
          });
          if (idle && !sse.aborted) await sse.write(": ping\n\n");
        }
      } finally {
        stop();
      }
    });
  });

  // The inbound SMS webhook. The provider retries until it gets a 2xx, and may deliver a message
  // twice: answer every ordinary case with 200 and say what happened.
  app.post("/webhooks/sms", async (c) => {
    if (c.req.header("x-webhook-token") !== d.webhookToken) return c.json({ error: "bad token" }, 401); // a real provider signs its requests: check that
    const m = (await c.req.json()) as InboundSms;
    if (await d.log.seen(m.messageId)) return c.json({ result: "duplicate" }); // delivered before
    const conversation = await d.engine.findConversation({ campaignId: m.campaignId, contactId: m.from });
    if (conversation === null) return c.json({ result: "unknown_contact" });
    // autoOptOut: a first reply that is just STOP (or another keyword) opts the contact out of the
    // whole organization (M3, O3). A reply to an opted-out or unknown conversation comes back
    // `ignored`: a late event, not an error.
    const [outcome] = await d.engine.recordMessages({
      campaignId: m.campaignId,
      messages: [{ conversationId: conversation.id, event: "contact_replied", text: m.text, autoOptOut: true }],
    });
    await d.log.add({ conversationId: conversation.id, direction: "in", text: m.text, at: Date.now(), providerId: m.messageId });
    return c.json({ result: outcome?.result, conversationId: conversation.id, status: outcome && "conversation" in outcome ? outcome.conversation.status : null });
  });

  app.route("/", texterRoutes(d));
  app.route("/", adminRoutes(d));

  app.notFound((c) => c.html(layout({ title: "Not found", userId: null, body: notice("error", "No such page.") }), 404));
  app.onError((error, c) => {
    if (!isAssignmentError(error)) console.error(error);
    const status = isAssignmentError(error) && /NOT_FOUND$/.test(error.code) ? 404 : isAssignmentError(error) ? 400 : 500;
    if (c.req.path.startsWith("/webhooks/")) return c.json({ error: errorMessage(error) }, status);
    const body = html`<h1>Not done</h1>${notice("error", errorMessage(error))}<p><a href="javascript:history.back()">Back</a></p>`;
    return c.html(layout({ title: "Error", userId: null, body }), status);
  });
  return app;
}

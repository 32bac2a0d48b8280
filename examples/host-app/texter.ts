/**
 * The texter's page: pick a campaign, *Request Conversations*, work the conversations (replies
 * first, the rest folded away, S6), and join a campaign by its invite link.
 */
import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { html } from "hono/html";
import type { Campaign, Conversation, RefusalReason } from "selfassign";
import type { AuthEnv } from "./auth.js";
import type { Deps } from "./app.js";
import { hoursLine, initialMessage, joinRefusalMessage, refusalMessage } from "./messages.js";
import { ORG_ID } from "./seed.js";
import { type Html, layout, notice } from "./views.js";

const ACTIONABLE = new Set(["needs_reply", "not_started"]);

/** The notice a redirect asked for (`?n=assigned:10`): codes, not text, in the URL. */
function noticeFor(code: string | undefined, campaign: Campaign | null, now: number): Html | "" {
  if (!code) return "";
  const [kind, detail = ""] = code.split(":");
  switch (kind) {
    case "assigned": return notice("ok", `You got ${detail} conversation${detail === "1" ? "" : "s"}. Replies first, then the ones to start.`);
    case "replayed": return notice("ok", `Same request as before (a double click or a retry): you already got these ${detail}; nothing more was assigned.`);
    case "joined": return notice("ok", Number(detail) > 0 ? `You joined the campaign and got a first batch of ${detail}.` : "You are a texter on this campaign now.");
    case "sent": return notice("ok", "Sent.");
    case "not_held": return notice("refused", "That conversation is no longer yours (an admin moved it). Nothing was sent.");
    case "ignored": return notice("refused", "That conversation changed meanwhile (the contact opted out, or it was answered). Nothing was sent.");
    case "refused": return campaign ? notice("refused", refusalMessage(detail as RefusalReason, campaign, now)) : "";
    default: return "";
  }
}

export function texterRoutes(d: Deps) {
  const r = new Hono<AuthEnv>();
  r.use("/texter/*", d.auth.required());
  r.use("/texter", d.auth.required());
  r.use("/join/*", d.auth.required());

  /** The texter's conversations, as the part of the page that refreshes live. */
  async function conversations(userId: string, campaignId: string): Promise<Html> {
    // In S4 order: needs reply (oldest reply first), then not started, then the rest.
    const all = await d.engine.getAssignments({ actorId: userId, campaignId, texterId: userId, filter: "all", limit: 1000 });
    const actionable = all.filter((c) => ACTIONABLE.has(c.status));
    const rest = all.filter((c) => !ACTIONABLE.has(c.status));
    const log = await d.log.recent(all.map((c) => c.id), 3);
    const replies = actionable.filter((c) => c.status === "needs_reply").length;
    const card = (c: Conversation) => {
      const initial = c.status === "not_started";
      return html`<li class="conv" data-conversation="${c.id}" data-contact="${c.contactId}" data-status="${c.status}">
        <b>${c.contactId}</b> <span class="badge ${c.status}">${c.status.replace("_", " ")}</span>
        <div class="msgs">${(log.get(c.id) ?? []).map((m) => html`<div class="msg ${m.direction}">${m.direction === "in" ? "← " : "→ "}${m.text}</div>`)}</div>
        ${ACTIONABLE.has(c.status)
          ? html`<form method="post" action="/texter/send">
              <input type="hidden" name="c" value="${campaignId}"><input type="hidden" name="conversationId" value="${c.id}">
              <input type="hidden" name="kind" value="${initial ? "initial" : "reply"}">
              <textarea name="text" data-key="${c.id}" required>${initial ? initialMessage(userId) : ""}</textarea>
              <button>${initial ? "Send first message" : "Send reply"}</button></form>`
          : ""}
      </li>`;
    };
    return html`<p id="summary">You hold <b>${all.length}</b>: <b>${replies}</b> need a reply, <b>${actionable.length - replies}</b> to start, ${rest.length} waiting on the contact.</p>
      <ul class="convs" id="actionable">${actionable.map(card)}</ul>
      ${actionable.length === 0 ? html`<p class="muted">Nothing needs you now.</p>` : ""}
      <details id="rest"><summary>Waiting on the contact (${rest.length})</summary><ul class="convs">${rest.map(card)}</ul></details>`;
  }

  r.get("/texter", async (c) => {
    const userId = c.get("userId");
    const member = await d.engine.getMember({ actorId: userId, orgId: ORG_ID, userId }).catch(() => null);
    // A texter sees the campaigns they send on; owners and admins see all of them.
    const campaigns = member ? (await d.engine.listCampaigns({ actorId: userId, orgId: ORG_ID, limit: 100 })).items : [];
    const campaign = campaigns.find((x) => x.id === c.req.query("c")) ?? campaigns.find((x) => x.status === "active") ?? campaigns[0] ?? null;
    const now = Date.now();
    const body = html`<h1>Texter</h1>
      ${noticeFor(c.req.query("n"), campaign, now)}
      ${member ? "" : notice("refused", "You are not a member of this organization. Ask an admin to add you.")}
      <nav class="tabs">${campaigns.map((x) => html`<a href="/texter?c=${encodeURIComponent(x.id)}" class="${x.id === campaign?.id ? "current" : ""}">${x.title}</a>`)}</nav>
      ${campaign
        ? html`<section><h2>${campaign.title} <span class="badge ${campaign.status}">${campaign.status}</span></h2>
            <p class="muted">Texting hours ${hoursLine(campaign, now)} · ${campaign.selfAssignment.batchSize ?? "—"} per request</p>
            <form method="post" action="/texter/request" id="request-form">
              <input type="hidden" name="c" value="${campaign.id}">
              <input type="hidden" name="key" value="${randomUUID()}"><!-- the idempotency key of this click (S8) -->
              <button id="request">Request Conversations</button>
            </form></section>
            <section data-live="/texter/list?c=${encodeURIComponent(campaign.id)}" id="conversations">${await conversations(userId, campaign.id)}</section>`
        : html`<section><p>You are not a texter on any campaign yet.</p></section>`}
      <section><h2>Join a campaign</h2><form method="post" action="/texter/join-link">
        <input name="link" size="60" placeholder="Paste an invite link" required> <button class="secondary">Open</button></form></section>`;
    return c.html(layout({ title: "Texter", userId, role: member?.role ?? "not a member", campaignId: campaign?.id, body }));
  });

  r.get("/texter/list", async (c) => c.html(await conversations(c.get("userId"), c.req.query("c") ?? "")));

  r.post("/texter/request", async (c) => {
    const form = await c.req.parseBody();
    const campaignId = String(form.c ?? "");
    const result = await d.engine.requestConversations({ campaignId, texterId: c.get("userId"), idempotencyKey: String(form.key ?? "") || undefined });
    const n = result.ok ? `${result.replayed ? "replayed" : "assigned"}:${result.conversations.length}` : `refused:${result.reason}`;
    return c.redirect(`/texter?c=${encodeURIComponent(campaignId)}&n=${n}`, 303);
  });

  r.post("/texter/send", async (c) => {
    const userId = c.get("userId");
    const form = await c.req.parseBody();
    const campaignId = String(form.c ?? "");
    const conversationId = String(form.conversationId ?? "");
    const text = String(form.text ?? "").trim();
    // Record first, then send: with `actorId` the engine applies it only if this texter still holds
    // the conversation, atomically, so a conversation moved away a second ago gets no message from
    // the wrong person. (If the send then fails, the status says sent: a real app keeps an outbox.)
    const [outcome] = await d.engine.recordMessages({
      campaignId,
      actorId: userId,
      messages: [{ conversationId, event: form.kind === "initial" ? "initial_sent" : "texter_replied" }],
    });
    if (outcome?.result === "recorded") {
      await d.sms.send(campaignId, outcome.conversation.contactId, text);
      await d.log.add({ conversationId, direction: "out", text, at: Date.now() });
    }
    const n = outcome?.result === "recorded" ? "sent" : outcome?.result === "not_held" ? "not_held" : "ignored";
    return c.redirect(`/texter?c=${encodeURIComponent(campaignId)}&n=${n}`, 303);
  });

  // An invite link is /join/<token>. Following it shows a button; the POST joins (a link preview or a
  // prefetch must not make anybody a sender).
  r.post("/texter/join-link", async (c) => {
    const link = String((await c.req.parseBody()).link ?? "").trim();
    return c.redirect(`/join/${encodeURIComponent(link.split("/").pop() ?? "")}`, 303);
  });

  r.get("/join/:token", async (c) => {
    const body = html`<h1>Join a campaign</h1><section><p>This invite link makes you a texter on its campaign, with a first batch of conversations.</p>
      <form method="post"><button id="join">Join the campaign</button></form></section>`;
    return c.html(layout({ title: "Join", userId: c.get("userId"), body }));
  });

  r.post("/join/:token", async (c) => {
    const userId = c.get("userId");
    const result = await d.engine.joinByInvite({ token: c.req.param("token"), userId });
    if (result.ok) return c.redirect(`/texter?c=${encodeURIComponent(result.campaignId)}&n=joined:${result.conversations.length}`, 303);
    const body = html`<h1>Join a campaign</h1>${notice("refused", joinRefusalMessage(result.reason))}<p><a href="/texter">Back</a></p>`;
    return c.html(layout({ title: "Join", userId, body }), 200);
  });

  return r;
}

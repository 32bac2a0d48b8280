/**
 * The admin page: campaigns, contacts import, settings, launch and lifecycle, senders, the invite
 * link, the conversations overview as a chart per sender (live), and the bulk operations. Every call
 * passes the logged-in user as `actorId`; the engine refuses anybody who is not an owner or admin
 * (NOT_AUTHORIZED), so the page's own role check is only for showing the right screen.
 */
import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { html } from "hono/html";
import { stream } from "hono/streaming";
import type { Campaign, ReassignSource, StatusFilter } from "selfassign";
import type { AuthEnv } from "./auth.js";
import type { Deps } from "./app.js";
import { readContacts } from "./csv.js";
import { hoursLine } from "./messages.js";
import { ORG_ID } from "./seed.js";
import { type Html, layout, notice } from "./views.js";

const IMPORT_CHUNK = 2000;

/** Epoch ms → "YYYY-MM-DDTHH:MM" in a zone (for datetime-local inputs), and back. */
function toLocalInput(ms: number | null, zone: string): string {
  if (ms === null) return "";
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(ms).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}
function fromLocalInput(value: string, zone: string): number | null {
  if (value === "") return null;
  const guess = Date.parse(`${value}:00Z`); // the wall time read as UTC …
  const offset = Date.parse(`${toLocalInput(guess, zone)}:00Z`) - guess; // … shifted by the zone's offset then
  return guess - offset;
}

const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).filter((s) => s !== "");

export function adminRoutes(d: Deps) {
  const r = new Hono<AuthEnv>();
  r.use("/admin", d.auth.required());
  r.use("/admin/*", d.auth.required());
  const back = (campaignId: string, n: string) => `/admin?c=${encodeURIComponent(campaignId)}&n=${encodeURIComponent(n)}`;

  /** The overview (A1) as bars per sender next to the numbers, and the bulk-send progress: the live part. */
  async function overview(actorId: string, campaignId: string): Promise<Html> {
    const [o, campaign] = await Promise.all([d.engine.getOverview({ actorId, campaignId }), d.engine.getCampaign(campaignId)]);
    const progress = campaign.bulkSend ? await d.engine.getBulkSendProgress({ campaignId }) : null;
    // One bar per sender, scaled to the busiest one; the unassigned pool is a line of its own.
    const max = Math.max(1, ...o.senders.map((x) => x.held));
    const pct = (n: number) => `width:${((100 * n) / max).toFixed(2)}%`;
    return html`<p>Status <b id="status">${campaign.status}</b> · ${o.total} conversations · ${o.byStatus.opted_out} opted out · ${o.byStatus.closed} closed</p>
      ${progress
        ? html`<p>Bulk send: <b id="bulk-sent">${progress.sent}</b> of ${progress.total} sent${progress.waiting ? ` (waiting: ${progress.waiting.reason})` : ""}
            <progress max="${Math.max(progress.total, 1)}" value="${progress.sent}"></progress></p>`
        : ""}
      <p id="unassigned" data-count="${o.unassigned}">Unassigned: <b>${o.unassigned}</b> (${o.unassignedNotStarted} to start, ${o.unassignedNeedsReply} need a reply)</p>
      <div class="chart" id="chart">
        ${o.senders.map((x) => html`<div class="row" data-sender="${x.userId}" data-held="${x.held}" data-not-started="${x.notStarted}" data-needs-reply="${x.needsReply}">
          <span>${x.userId}</span>
          <span class="bar"><span class="seg-reply" style="${pct(x.needsReply)}"></span><span class="seg-start" style="${pct(x.notStarted)}"></span><span class="seg-other" style="${pct(x.held - x.needsReply - x.notStarted)}"></span></span>
          <span class="muted">${x.held} held · ${x.notStarted} to start · ${x.needsReply} need a reply</span></div>`)}
        ${o.senders.length === 0 ? html`<p class="muted">No senders yet.</p>` : ""}
      </div>
      <p class="legend muted"><span class="seg-reply"></span>needs reply<span class="seg-start"></span>not started<span class="seg-other"></span>waiting on the contact</p>`;
  }

  function settingsForm(c: Campaign): Html {
    const sa = c.selfAssignment;
    const s = c.schedule;
    return html`<form method="post" action="/admin/settings" id="settings-form"><input type="hidden" name="c" value="${c.id}">
      <label><input type="checkbox" name="enabled" ${sa.enabled ? "checked" : ""}> Self assignment</label>
      <label>Batch size <input type="number" name="batchSize" min="1" max="5000" value="${sa.batchSize ?? ""}" style="width:6em"></label>
      <label>Per-texter cap <input type="number" name="maxHeldPerTexter" min="1" value="${sa.maxHeldPerTexter ?? ""}" placeholder="none" style="width:6em"></label>
      <label>Gate <select name="gate">${(["no-pending-initials", "no-pending-work", "none"] as const).map((g) => html`<option ${g === sa.gate ? "selected" : ""}>${g}</option>`)}</select></label><br>
      <label>Texting hours <input name="textingHoursStart" value="${s.textingHoursStart}" size="5"> – <input name="textingHoursEnd" value="${s.textingHoursEnd}" size="5"></label>
      <label>Time zone <input name="timeZone" value="${s.timeZone}" size="20"></label><br>
      <label>Starts <input type="datetime-local" name="startsAt" value="${toLocalInput(s.startsAt, s.timeZone)}"></label>
      <label>Ends <input type="datetime-local" name="endsAt" value="${toLocalInput(s.endsAt, s.timeZone)}"></label>
      <button class="secondary">Save settings</button></form>`;
  }

  r.get("/admin", async (c) => {
    const actorId = c.get("userId");
    const member = await d.engine.getMember({ actorId, orgId: ORG_ID, userId: actorId }).catch(() => null);
    if (member?.role !== "owner" && member?.role !== "admin") {
      return c.html(layout({ title: "Admin", userId: actorId, role: member?.role, body: html`<h1>Admin</h1>${notice("refused", "Only the organization's owners and admins can open the admin page.")}` }), 403);
    }
    const campaigns = (await d.engine.listCampaigns({ actorId, orgId: ORG_ID, limit: 100 })).items;
    const campaign = campaigns.find((x) => x.id === c.req.query("c")) ?? campaigns[0] ?? null;
    const n = c.req.query("n");
    const top = html`<h1>Admin</h1>${n ? notice(n.startsWith("!") ? "error" : "ok", n.replace(/^!/, "")) : ""}
      <nav class="tabs">${campaigns.map((x) => html`<a href="/admin?c=${encodeURIComponent(x.id)}" class="${x.id === campaign?.id ? "current" : ""}">${x.title}</a>`)}</nav>
      <form method="post" action="/admin/campaigns" class="inline"><input name="title" placeholder="New campaign title" required> <button class="secondary">Create campaign</button></form>`;
    if (campaign === null) return c.html(layout({ title: "Admin", userId: actorId, role: member.role, body: top }));
    const id = campaign.id;
    const senders = (await d.engine.listSenders({ actorId, campaignId: id, limit: 1000 })).items.map((s) => s.userId);
    const members = (await d.engine.listMembers({ actorId, orgId: ORG_ID, limit: 1000 })).items.filter((m) => !senders.includes(m.userId));
    const link = campaign.invite.token ? `${d.baseUrl}/join/${campaign.invite.token}` : null;
    const hidden = html`<input type="hidden" name="c" value="${id}">`;
    const body = html`${top}
      <section><h2>${campaign.title} <span class="badge ${campaign.status}">${campaign.status}</span></h2>
        <p class="muted">Texting hours ${hoursLine(campaign, Date.now())}</p>
        ${campaign.status === "draft"
          ? html`<form method="post" action="/admin/launch" class="inline">${hidden}<label><input type="checkbox" name="bulkSend"> with bulk send (initial messages go out in the background)</label> <button id="launch">Launch</button></form>`
          : ""}
        ${["active", "bulk_sending"].includes(campaign.status) ? html`<form method="post" action="/admin/status" class="inline">${hidden}<button name="action" value="pause" class="secondary">Pause</button></form>` : ""}
        ${campaign.status === "paused" ? html`<form method="post" action="/admin/status" class="inline">${hidden}<button name="action" value="resume">Resume</button></form>` : ""}
        ${campaign.status !== "archived" ? html`<form method="post" action="/admin/status" class="inline">${hidden}<button name="action" value="archive" class="danger">Archive</button></form>` : ""}
      </section>
      <section><h2>Conversations overview</h2><div id="overview" data-live="/admin/overview?c=${encodeURIComponent(id)}">${await overview(actorId, id)}</div>
        <form method="post" action="/admin/unassign-all" class="inline">${hidden}<button class="secondary" id="unassign-all">Unassign All</button></form>
        <form method="post" action="/admin/reassign" id="reassign-form">${hidden}
          <p><b>Reassign</b> <label><input type="radio" name="mode" value="some" checked> Some: <input type="number" name="count" min="1" value="10" style="width:5em"></label>
          <label><input type="radio" name="mode" value="all"> All</label>
          <label>matching <select name="filter"><option value="any">any status</option><option value="needs_reply">needs reply</option><option value="not_started">not started</option></select></label></p>
          <p>from <label><input type="checkbox" name="from" value="unassigned"> unassigned</label>${senders.map((s) => html`<label><input type="checkbox" name="from" value="${s}"> ${s}</label>`)}</p>
          <p>to ${senders.map((s) => html`<label><input type="checkbox" name="to" value="${s}"> ${s}</label>`)} <button class="secondary">Reassign</button></p>
        </form></section>
      <div class="grid">
        <section><h2>Settings</h2>${settingsForm(campaign)}</section>
        <section><h2>Import contacts</h2>
          <form method="post" action="/admin/import" enctype="multipart/form-data" id="import-form">${hidden}
            <input type="file" name="file" accept=".csv,text/csv" required> <button class="secondary">Import</button></form>
          <p class="muted">CSV with a header row: <code>phone</code> and optionally <code>timezone</code> (IANA, e.g. America/Chicago).</p>
          <progress id="import-progress" hidden></progress> <span id="import-status"></span><div id="import-report"></div></section>
        <section><h2>Senders (${senders.length})</h2><p id="senders">${senders.join(", ") || "none"}</p>
          <form method="post" action="/admin/senders">${hidden}${members.map((m) => html`<label><input type="checkbox" name="userId" value="${m.userId}"> ${m.userId}</label>`)}
          ${members.length > 0 ? html`<button class="secondary">Add senders</button>` : ""}</form></section>
        <section><h2>Invite link</h2>
          ${link
            ? html`<input id="invite-link" value="${link}" readonly size="48"> <button type="button" class="secondary" data-copy="invite-link">Copy</button>
                <form method="post" action="/admin/invite" class="inline">${hidden}<button name="action" value="disable" class="danger">Revoke</button></form>`
            : html`<form method="post" action="/admin/invite">${hidden}<button name="action" value="enable" id="enable-invite">Enable invite link</button></form>
                <p class="muted">Needs self assignment on; anyone in the organization with the link can join as a texter.</p>`}</section>
        <section><h2>Fake SMS provider</h2><p class="muted">Make a contact text back, through the inbound webhook.</p>
          <form method="post" action="/admin/simulate-reply">${hidden}<input name="from" placeholder="+15550101000" required size="14"> <input name="text" value="Yes!" size="14"> <button class="secondary">Deliver reply</button></form></section>
      </div>`;
    return c.html(layout({ title: "Admin", userId: actorId, role: member.role, campaignId: id, body }));
  });

  r.get("/admin/overview", async (c) => c.html(await overview(c.get("userId"), c.req.query("c") ?? "")));

  r.post("/admin/campaigns", async (c) => {
    const form = await c.req.parseBody();
    const campaign = await d.engine.createCampaign({ actorId: c.get("userId"), orgId: ORG_ID, title: text(form.title) });
    return c.redirect(back(campaign.id, `Campaign "${campaign.title}" created (draft). Import contacts, then launch.`), 303);
  });

  r.post("/admin/settings", async (c) => {
    const form = await c.req.parseBody();
    const campaign = await d.engine.getCampaign(text(form.c));
    const zone = text(form.timeZone) || campaign.schedule.timeZone;
    const num = (v: unknown) => (text(v) === "" ? null : Number(text(v)));
    await d.engine.updateCampaignSettings({
      actorId: c.get("userId"),
      campaignId: campaign.id,
      enabled: form.enabled === "on",
      ...(num(form.batchSize) === null ? {} : { batchSize: num(form.batchSize)! }),
      maxHeldPerTexter: num(form.maxHeldPerTexter),
      gate: text(form.gate) as Campaign["selfAssignment"]["gate"],
      textingHoursStart: text(form.textingHoursStart),
      textingHoursEnd: text(form.textingHoursEnd),
      timeZone: zone,
      startsAt: fromLocalInput(text(form.startsAt), zone),
      endsAt: fromLocalInput(text(form.endsAt), zone),
    });
    return c.redirect(back(campaign.id, "Settings saved."), 303);
  });

  // The import streams one JSON line per chunk ({ done, total }), then the report, so the page can
  // show progress on a file of 100,000 rows. Rejected rows never reach the engine.
  r.post("/admin/import", async (c) => {
    const actorId = c.get("userId");
    const form = await c.req.parseBody();
    const campaignId = text(form.c);
    const file = form.file;
    const { contacts, rejected } = readContacts(file instanceof File ? await file.text() : "");
    c.header("content-type", "application/x-ndjson");
    return stream(c, async (out) => {
      let created = 0;
      let skipped = 0;
      try {
        for (let i = 0; i < contacts.length; i += IMPORT_CHUNK) {
          const result = await d.engine.importContacts({ actorId, campaignId, contacts: contacts.slice(i, i + IMPORT_CHUNK) });
          created += result.created;
          skipped += result.skipped;
          await out.write(`${JSON.stringify({ done: Math.min(i + IMPORT_CHUNK, contacts.length), total: contacts.length })}\n`);
        }
      } catch (error) {
        rejected.unshift({ line: 0, value: "", reason: `import stopped: ${(error as Error).message}` });
      }
      const report = html`<p id="import-result"><b>${created}</b> imported, <b>${skipped}</b> already in the campaign, <b>${rejected.length}</b> rejected.</p>
        ${rejected.length > 0
          ? html`<div class="rejected"><table><tr><th>line</th><th>value</th><th>reason</th></tr>${rejected.slice(0, 200).map((x) => html`<tr><td>${x.line}</td><td>${x.value}</td><td>${x.reason}</td></tr>`)}</table></div>`
          : ""}`;
      await out.write(`${JSON.stringify({ report: String(await report) })}\n`);
    });
  });

  r.post("/admin/launch", async (c) => {
    const form = await c.req.parseBody();
    const bulkSend = form.bulkSend === "on";
    const result = await d.engine.launchCampaign({ actorId: c.get("userId"), campaignId: text(form.c), bulkSend });
    if (bulkSend) d.bulk.start(result.campaign.id);
    return c.redirect(back(result.campaign.id, bulkSend ? "Launched: the bulk send is running." : `Launched; ${result.assigned} conversations split among the senders.`), 303);
  });

  r.post("/admin/status", async (c) => {
    const form = await c.req.parseBody();
    const input = { actorId: c.get("userId"), campaignId: text(form.c) };
    const action = text(form.action);
    const campaign =
      action === "pause" ? await d.engine.pauseCampaign(input) : action === "resume" ? await d.engine.resumeCampaign(input) : await d.engine.archiveCampaign(input);
    if (campaign.status === "bulk_sending") d.bulk.start(campaign.id); // a resumed bulk send goes on
    return c.redirect(back(campaign.id, `Campaign is ${campaign.status} now.`), 303);
  });

  r.post("/admin/senders", async (c) => {
    const form = await c.req.parseBody({ all: true });
    const result = await d.engine.addSenders({ actorId: c.get("userId"), campaignId: text(form.c), userIds: list(form.userId) });
    return c.redirect(back(result.campaign.id, `Added ${result.added.length} sender(s).`), 303);
  });

  r.post("/admin/invite", async (c) => {
    const form = await c.req.parseBody();
    const input = { actorId: c.get("userId"), campaignId: text(form.c) };
    if (text(form.action) === "enable") await d.engine.enableInviteLink(input);
    else await d.engine.disableInviteLink(input); // the old link is revoked for good (L4)
    return c.redirect(back(input.campaignId, text(form.action) === "enable" ? "Invite link enabled." : "Invite link revoked."), 303);
  });

  r.post("/admin/unassign-all", async (c) => {
    const form = await c.req.parseBody();
    const result = await d.engine.unassignAll({ actorId: c.get("userId"), campaignId: text(form.c) });
    return c.redirect(back(text(form.c), `${result.unassigned} conversations unassigned.`), 303);
  });

  r.post("/admin/reassign", async (c) => {
    const form = await c.req.parseBody({ all: true });
    const campaignId = text(form.c);
    const fromList = list(form.from);
    if (fromList.includes("unassigned") && fromList.length > 1) return c.redirect(back(campaignId, "!Reassign from the unassigned pool or from senders, not both."), 303);
    const from: ReassignSource = fromList.length === 0 || fromList.includes("unassigned") ? "unassigned" : { senderIds: fromList };
    const input = { actorId: c.get("userId"), campaignId, from, filter: text(form.filter) as StatusFilter, to: list(form.to) };
    const result = text(form.mode) === "all" ? await d.engine.reassignAll(input) : await d.engine.reassignSome({ ...input, count: Number(text(form.count)) });
    return c.redirect(back(campaignId, `${result.moved} conversations reassigned.`), 303);
  });

  // The fake provider's "a contact texts back", through the real webhook over HTTP.
  r.post("/admin/simulate-reply", async (c) => {
    const form = await c.req.parseBody();
    const campaignId = text(form.c);
    const answer = (await d.sms.deliver({ messageId: randomUUID(), campaignId, from: text(form.from), text: text(form.text) })) as { result?: string };
    return c.redirect(back(campaignId, `Webhook answered: ${answer.result ?? "?"}`), 303);
  });

  return r;
}

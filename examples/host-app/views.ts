/**
 * The page frame, the style sheet and the little client script. Pages are rendered on the server
 * with Hono's `html` template tag (every interpolated value is escaped); the script only enhances:
 * live refresh of the marked parts, disabled buttons while a form posts, copy, and upload progress.
 */
import { html } from "hono/html";

export type Html = ReturnType<typeof html>;

export function layout(options: { title: string; userId: string | null; role?: string | null; campaignId?: string; body: Html }): Html {
  const { title, userId, role, campaignId, body } = options;
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · selfassign demo</title><link rel="stylesheet" href="/static/app.css"></head>
<body data-campaign="${campaignId ?? ""}">
<header>
  <strong>Vote Org</strong>
  <nav><a href="/texter">Texter</a> <a href="/admin">Admin</a></nav>
  <span class="who">${userId === null ? "" : html`Logged in as <b id="current-user">${userId}</b>${role ? ` (${role})` : ""} · <a href="/login">switch user</a>`}</span>
</header>
<main>${body}</main>
<script src="/static/app.js" defer></script>
</body></html>`;
}

/** A notice at the top of a page: `kind` "ok", "refused" or "error". */
export function notice(kind: "ok" | "refused" | "error", text: string): Html {
  return html`<p class="notice ${kind}" role="status" data-kind="${kind}">${text}</p>`;
}

export const CSS = `
*{box-sizing:border-box} body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d2733;background:#f4f6f8}
header{display:flex;gap:1.5rem;align-items:center;padding:.7rem 1.2rem;background:#1d2733;color:#fff}
header a{color:#cfe3ff;margin-right:.8rem} header .who{margin-left:auto} main{max-width:1100px;margin:1rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem} h2{font-size:1.1rem;margin:0 0 .7rem} .muted{color:#66768a;font-size:.9em}
button,.button{background:#2563eb;color:#fff;border:0;border-radius:6px;padding:.45rem .9rem;font:inherit;cursor:pointer}
button.secondary{background:#e6ecf3;color:#1d2733} button.danger{background:#c2410c} button:disabled{opacity:.55;cursor:wait}
input,select,textarea{font:inherit;padding:.3rem .45rem;border:1px solid #c5cfda;border-radius:5px} textarea{width:100%;min-height:3.2em}
.notice{padding:.6rem .9rem;border-radius:6px} .notice.ok{background:#e7f6ec;color:#17663a} .notice.refused{background:#fff4e0;color:#8a4b00} .notice.error{background:#fde8e8;color:#9b1c1c}
.tabs a{display:inline-block;margin:0 .4rem .4rem 0;padding:.3rem .7rem;border-radius:16px;background:#e6ecf3;color:#1d2733;text-decoration:none}
.tabs a.current{background:#1d2733;color:#fff}
.badge{display:inline-block;font-size:.78em;padding:.05rem .5rem;border-radius:10px;background:#e6ecf3}
.badge.needs_reply{background:#fde2d8;color:#9a3412} .badge.not_started{background:#dbeafe;color:#1e40af} .badge.active{background:#e7f6ec;color:#17663a} .badge.paused{background:#fff4e0}
ul.convs{list-style:none;padding:0;margin:0} li.conv{border-top:1px solid #e6ecf3;padding:.7rem 0} li.conv .msgs{margin:.3rem 0;font-size:.92em} li.conv form{display:flex;gap:.5rem;align-items:flex-start} li.conv textarea{flex:1;min-height:2.3em;height:2.3em}
.msg{margin:.15rem 0} .msg.in{color:#9a3412} .msg.out{color:#1e40af}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem} .grid>section{margin:0} form.inline{display:inline}
label{display:inline-block;margin:.2rem .8rem .2rem 0} table{border-collapse:collapse} td,th{padding:.2rem .6rem;text-align:right} td:first-child,th:first-child{text-align:left}
.chart .row{display:grid;grid-template-columns:7rem 1fr 16rem;gap:.6rem;align-items:center;margin:.25rem 0}
.bar{display:flex;height:1.1rem;background:#f0f3f6;border-radius:4px;overflow:hidden}
.bar span{display:block;height:100%} .seg-reply{background:#e4572e} .seg-start{background:#2e86de} .seg-other{background:#b8c2cc}
.legend span{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin:0 .3rem 0 .8rem;vertical-align:middle}
progress{width:100%;height:1rem} .rejected{max-height:10rem;overflow:auto;font-size:.9em}
`;

/** The client script: no framework, no build step. */
export const JS = `
// Live: parts marked data-live="<url>" are fetched again when the campaign's events arrive (SSE).
const campaign = document.body.dataset.campaign;
const parts = [...document.querySelectorAll("[data-live]")];
if (campaign && parts.length > 0) {
  let timer = null;
  const refresh = async () => {
    for (const el of parts) {
      const res = await fetch(el.dataset.live, { headers: { accept: "text/html" } });
      if (!res.ok) continue;
      // Keep what the user is typing and which sections are open.
      const typed = new Map([...el.querySelectorAll("textarea[data-key]")].map((t) => [t.dataset.key, t.value]));
      const open = new Set([...el.querySelectorAll("details[id][open]")].map((d) => d.id));
      el.innerHTML = await res.text();
      for (const t of el.querySelectorAll("textarea[data-key]")) if (typed.has(t.dataset.key)) t.value = typed.get(t.dataset.key);
      for (const d of el.querySelectorAll("details[id]")) if (open.has(d.id)) d.open = true;
    }
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  };
  const events = new EventSource("/live?c=" + encodeURIComponent(campaign));
  events.onmessage = () => { clearTimeout(timer); timer = setTimeout(refresh, 150); };
  // On (re)connecting, fetch once: events between rendering the page and the stream opening are covered.
  events.onopen = () => { document.body.dataset.live = "connected"; clearTimeout(timer); timer = setTimeout(refresh, 150); };
}
// A form that is posting cannot be posted twice; a retry after a failure sends the same fields,
// so the same idempotency key.
document.addEventListener("submit", (e) => {
  const buttons = e.target.querySelectorAll("button");
  setTimeout(() => buttons.forEach((b) => (b.disabled = true)), 0);
  setTimeout(() => buttons.forEach((b) => (b.disabled = false)), 8000);
});
window.addEventListener("pageshow", () => document.querySelectorAll("button").forEach((b) => (b.disabled = false)));
// Copy the invite link.
document.addEventListener("click", async (e) => {
  const target = e.target.closest("[data-copy]");
  if (!target) return;
  const input = document.getElementById(target.dataset.copy);
  input.select();
  try { await navigator.clipboard.writeText(input.value); } catch { document.execCommand("copy"); }
  target.textContent = "Copied";
});
// CSV import: upload progress, then the server's import progress (one JSON line per step), then the report.
const upload = document.getElementById("import-form");
if (upload) upload.addEventListener("submit", (e) => {
  e.preventDefault();
  const bar = document.getElementById("import-progress"), label = document.getElementById("import-status"), report = document.getElementById("import-report");
  const xhr = new XMLHttpRequest();
  bar.hidden = false; report.innerHTML = "";
  xhr.upload.onprogress = (p) => { if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; label.textContent = "Uploading " + Math.round(100 * p.loaded / p.total) + "%"; } };
  let seen = 0;
  xhr.onprogress = () => {
    const lines = xhr.responseText.split("\\n"); 
    for (; seen < lines.length - 1; seen++) {
      const step = JSON.parse(lines[seen]);
      if (step.report) { report.innerHTML = step.report; label.textContent = "Done"; bar.value = bar.max; }
      else { bar.max = step.total; bar.value = step.done; label.textContent = "Importing " + step.done.toLocaleString() + " of " + step.total.toLocaleString(); }
    }
  };
  xhr.onloadend = () => { xhr.onprogress(); upload.querySelectorAll("button").forEach((b) => (b.disabled = false)); if (xhr.status !== 200) label.textContent = "Import failed (" + xhr.status + ")"; };
  xhr.open("POST", upload.action);
  xhr.send(new FormData(upload));
});
`;

/**
 * Contacts from a CSV upload: a header row with a `phone` column (also `contact`, `number`) and an
 * optional `timezone` column. Each row is checked here, before the engine sees it; the rejected ones
 * are reported with their line and reason.
 */
import type { ContactInput } from "selfassign";

export interface RejectedRow {
  readonly line: number;
  readonly value: string;
  readonly reason: string;
}

/** Split CSV text into rows of fields (quotes, doubled quotes and CRLF handled). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field), rows.push(row), (row = []), (field = "");
    } else field += ch;
  }
  if (field !== "" || row.length > 0) row.push(field), rows.push(row);
  return rows;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** "(555) 010-1234" → "+15550101234"; `null` when it is not a phone number. */
export function normalizePhone(raw: string): string | null {
  const digits = raw.replace(/[\s().-]/g, "");
  const e164 = /^\d{10}$/.test(digits) ? `+1${digits}` : /^1\d{10}$/.test(digits) ? `+${digits}` : digits;
  return /^\+[1-9]\d{7,14}$/.test(e164) ? e164 : null;
}

export function readContacts(text: string): { contacts: ContactInput[]; rejected: RejectedRow[] } {
  const rows = parseCsv(text.replace(/^\uFEFF/, ""));
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const phoneAt = header.findIndex((h) => ["phone", "contact", "number", "cell"].includes(h));
  const zoneAt = header.findIndex((h) => ["timezone", "time_zone", "tz"].includes(h));
  if (phoneAt < 0) return { contacts: [], rejected: [{ line: 1, value: header.join(","), reason: "no phone column in the header row" }] };
  const contacts: ContactInput[] = [];
  const rejected: RejectedRow[] = [];
  const firstLine = new Map<string, number>();
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    if (row.every((f) => f.trim() === "")) return; // blank line
    const raw = (row[phoneAt] ?? "").trim();
    const zone = (zoneAt >= 0 ? row[zoneAt] ?? "" : "").trim();
    const phone = normalizePhone(raw);
    if (phone === null) return void rejected.push({ line, value: raw, reason: raw === "" ? "phone missing" : "not a phone number" });
    if (zone !== "" && !validZone(zone)) return void rejected.push({ line, value: zone, reason: "unknown time zone" });
    const seen = firstLine.get(phone);
    if (seen !== undefined) return void rejected.push({ line, value: raw, reason: `same phone as line ${seen}` });
    firstLine.set(phone, line);
    contacts.push(zone === "" ? { contactId: phone } : { contactId: phone, timeZone: zone });
  });
  return { contacts, rejected };
}

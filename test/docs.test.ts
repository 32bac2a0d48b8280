/**
 * Every TypeScript snippet of README.md and docs/*.md compiles and runs, so the docs cannot drift
 * from the code.
 *
 * - Compiles: all snippets are type-checked in one program with the project's compiler options
 *   (strict, noUncheckedIndexedAccess, …); the package names (`selfassign`, `selfassign/memory`,
 *   `selfassign/postgres`, `selfassign/sqlite`, `selfassign/testing`) map to the sources via `paths`.
 * - Runs: each snippet runs as its own Node process (`node --import tsx`, the same tsconfig), in a
 *   fresh temporary working directory (so a snippet that opens `selfassign.db` writes a temporary
 *   file), with the real clock — under `faketime` too: no snippet may depend on the hour. It must exit
 *   with code 0 (an uncaught error or unhandled rejection exits 1; a failed `node:test` check sets
 *   the exit code), must exit by itself (an unclosed pool keeps a process alive), and must print
 *   something if it calls `console.log`.
 * - A snippet that imports `pg` or `selfassign/postgres` gets `DATABASE_URL` pointing at a database of
 *   its own, created on the test server (`inject("databaseUrl")`) for it and dropped afterwards, so it
 *   can use any schema name beside the other test files.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ROOT,
  type SnippetFile,
  documentationFiles,
  extractSnippets,
  locate,
  runSnippet,
  shortPath,
  snippetName,
  typeCheck,
  writeWorkspace,
} from "./support/snippets.js";

const RUN_TIMEOUT_MS = 120_000;

const docs = documentationFiles();
const snippets = docs.flatMap(extractSnippets);
const workspace = writeWorkspace(snippets);
let diagnostics = new Map<string, string[]>();
let failures = 0;

beforeAll(() => {
  diagnostics = typeCheck(workspace);
}, 120_000);

afterAll(() => {
  if (failures === 0) rmSync(workspace.dir, { recursive: true, force: true });
  else console.log(`docs snippets: generated modules kept for inspection in ${shortPath(workspace.dir)}`);
});

const needsPostgres = (file: SnippetFile) => file.snippet.imports.some((m) => m === "pg" || m === "selfassign/postgres");

let databases = 0;
let serial: Promise<unknown> = Promise.resolve();
/** Run `fn` one after another (CREATE/DROP DATABASE on one server). */
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const next = serial.then(fn, fn);
  serial = next.catch(() => undefined);
  return next;
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database of its own on the test server for one snippet, dropped (with its connections) afterwards. */
async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const server = inject("databaseUrl");
  const name = `snippet_${process.pid}_${Date.now().toString(36)}_${++databases}`;
  await serialized(() => admin(server, (c) => c.query(`CREATE DATABASE "${name}"`)));
  const url = new URL(server);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await serialized(() => admin(server, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
  }
}

describe("documentation snippets", () => {
  it("every documentation file is read and the snippets are found", () => {
    expect(docs).toContain("README.md");
    expect(docs).toContain("docs/guide.md");
    expect(docs.some((d) => d.startsWith("docs/api/"))).toBe(false);
    for (const doc of ["README.md", "docs/guide.md", "docs/postgres.md", "docs/sqlite.md", "docs/testing.md", "docs/custom-adapter.md"]) {
      expect(snippets.filter((s) => s.doc === doc).length, `${doc} has TypeScript snippets`).toBeGreaterThan(0);
    }
    const names = snippets.map(snippetName);
    expect(new Set(names).size, "test names are unique").toBe(names.length);
  });

  it("every relative link in README.md, DEVELOPERS.md and docs/*.md reaches a file shipped in the package, and its heading", () => {
    // What `npm pack` would ship: the links must work inside node_modules/selfassign too.
    const packed = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" })) as {
      files: { path: string }[];
    }[];
    const shipped = new Set(packed[0]!.files.map((f) => f.path));
    const broken: string[] = [];
    for (const doc of [...docs, "DEVELOPERS.md"]) {
      const text = readFileSync(join(ROOT, doc), "utf8").replace(/^\s*(`{3,}|~{3,})[\s\S]*?^\s*\1\s*$/gm, "").replace(/`[^`\n]*`/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z+.-]*:/i.test(target!)) continue; // https:, mailto:
        const [path, anchor] = target!.split("#") as [string, string | undefined];
        const file = path === "" ? doc : normalize(join(dirname(doc), path));
        if (!shipped.has(file)) {
          broken.push(`${doc}: ${target} (${file} is not in the package)`);
          continue;
        }
        if (anchor !== undefined && file.endsWith(".md") && !headingSlugs(file).has(anchor)) broken.push(`${doc}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  for (const file of workspace.files) {
    const s = file.snippet;
    it.concurrent(
      `${snippetName(s)}: compiles and runs`,
      async () => {
        try {
          const errors = diagnostics.get(file.path);
          expect(errors, "type-checked").toBeDefined();
          expect(errors, `${locate(s)}: the snippet does not compile (${shortPath(file.path)})`).toEqual([]);
          const cwd = mkdtempSync(join(tmpdir(), "selfassign-snippet-"));
          try {
            const run = (databaseUrl: string | undefined) =>
              runSnippet(workspace, file, { cwd, env: { DATABASE_URL: databaseUrl }, timeoutMs: RUN_TIMEOUT_MS });
            const result = needsPostgres(file) ? await withDatabase((url) => run(url)) : await run(undefined);
            const report = `${locate(s)} (${shortPath(file.path)}), ${result.ms} ms\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
            expect(result.timedOut, `still running after ${RUN_TIMEOUT_MS / 1000} s (an open pool, server or timer?)\n${report}`).toBe(false);
            expect(result.signal, `killed\n${report}`).toBeNull();
            expect(result.code, `exited with an error\n${report}`).toBe(0);
            if (/\bconsole\.(log|info)\(/.test(s.code)) {
              expect(result.stdout.trim(), `prints nothing although it logs\n${report}`).not.toBe("");
            }
          } finally {
            rmSync(cwd, { recursive: true, force: true });
          }
        } catch (error) {
          failures++;
          throw error;
        }
      },
      RUN_TIMEOUT_MS + 30_000,
    );
  }
});

/** GitHub's anchors for the headings of a markdown file. */
function headingSlugs(doc: string): Set<string> {
  const text = readFileSync(join(ROOT, doc), "utf8").replace(/^\s*(`{3,}|~{3,})[\s\S]*?^\s*\1\s*$/gm, "");
  const slugs = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.*?)\s*#*\s*$/gm)) {
    slugs.add(heading!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-"));
  }
  return slugs;
}

/**
 * The TypeScript snippets of README.md and docs/*.md, as files a test can type-check and run.
 *
 * Every ```ts block is written to its own module under `test/.snippets/<run>/` (a directory that
 * ignores itself in git and that `tsc` skips, being hidden), with a tsconfig that extends the
 * project's and maps the package's import names to the sources, exactly as a user's `import` would
 * resolve them after `npm install selfassign`. The same tsconfig serves the type check (the compiler
 * API) and the run (`node --import tsx`, which reads `paths` from it).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** The repository root. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

/** The package's import names and the sources they stand for. */
export const PACKAGE_PATHS: Readonly<Record<string, string>> = {
  selfassign: "src/index.ts",
  "selfassign/memory": "src/memory.ts",
  "selfassign/postgres": "src/postgres.ts",
  "selfassign/sqlite": "src/sqlite.ts",
  "selfassign/testing": "src/testing.ts",
  "selfassign/adapter": "src/adapter.ts",
};

/** One ```ts block of a markdown file. */
export interface Snippet {
  /** Markdown file, relative to the repository root ("README.md", "docs/guide.md"). */
  readonly doc: string;
  /** The nearest heading above the block. */
  readonly heading: string;
  /** 1-based position among the blocks under that heading (several blocks may share one). */
  readonly ordinal: number;
  /** How many blocks share that heading. */
  readonly siblings: number;
  /** Line of the block's first code line in the markdown file (1-based). */
  readonly line: number;
  /** The code, with the fence's indentation removed. */
  readonly code: string;
  /** Module specifiers the code imports. */
  readonly imports: readonly string[];
}

/** README.md and every docs/*.md (docs/api/ is generated and not included). */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...docs];
}

/** The ```ts (or ```typescript) blocks of one markdown file, with the heading each sits under. */
export function extractSnippets(doc: string): Snippet[] {
  const lines = readFileSync(join(ROOT, doc), "utf8").split("\n");
  const found: Omit<Snippet, "ordinal" | "siblings">[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(lines[i]!);
    if (open === null) {
      const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(lines[i]!);
      if (h !== null) heading = h[1]!.replace(/`/g, "");
      continue;
    }
    const indent = open[1]!;
    const fence = open[2]!;
    const lang = open[3]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = new RegExp(`^\\s*${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
      if (close.test(lines[j]!)) break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    if (j === lines.length) throw new Error(`${doc}:${i + 1}: code fence never closed`);
    if (lang === "ts" || lang === "typescript") {
      const code = body.join("\n");
      found.push({ doc, heading, line: i + 2, code, imports: importsOf(code) });
    }
    i = j;
  }
  return found.map((s) => {
    const same = found.filter((o) => o.heading === s.heading);
    return { ...s, ordinal: same.indexOf(s) + 1, siblings: same.length };
  });
}

/** "README.md › Quick start for a host application" (plus " (2 of 3)" when a heading has several blocks). */
export function snippetName(s: Snippet): string {
  return `${s.doc} › ${s.heading}${s.siblings > 1 ? ` (${s.ordinal} of ${s.siblings})` : ""}`;
}

function importsOf(code: string): string[] {
  const source = ts.createSourceFile("snippet.ts", code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** A snippet written to disk. */
export interface SnippetFile {
  readonly snippet: Snippet;
  /** Absolute path of the module. */
  readonly path: string;
}

/** A directory of snippet modules for one test run, with its tsconfig. */
export interface SnippetWorkspace {
  readonly dir: string;
  readonly tsconfig: string;
  readonly files: readonly SnippetFile[];
}

/**
 * Write every snippet to `test/.snippets/<run>/NN-<doc>.ts` (the code as written, plus `export {}`
 * so each is a module of its own), and a tsconfig mapping the package names to the sources.
 */
export function writeWorkspace(snippets: readonly Snippet[]): SnippetWorkspace {
  const base = join(ROOT, "test/.snippets");
  mkdirSync(base, { recursive: true });
  writeFileSync(join(base, ".gitignore"), "*\n"); // generated files: the directory ignores itself
  const dir = join(base, `run-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  const tsconfig = join(dir, "tsconfig.json");
  const paths = Object.fromEntries(Object.entries(PACKAGE_PATHS).map(([name, file]) => [name, [join(ROOT, file)]]));
  writeFileSync(
    tsconfig,
    JSON.stringify({ extends: join(ROOT, "tsconfig.json"), compilerOptions: { noEmit: true, paths }, include: ["*.ts"] }, null, 2),
  );
  const files = snippets.map((snippet, i) => {
    const slug = snippet.doc.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
    const path = join(dir, `${String(i + 1).padStart(2, "0")}-${slug}.ts`);
    writeFileSync(path, `${snippet.code}\nexport {};\n`);
    return { snippet, path };
  });
  return { dir, tsconfig, files };
}

/**
 * Type-check every snippet module in one program, with the project's compiler options (strict,
 * noUncheckedIndexedAccess, …) and the package paths. Returns the errors per module, each located in
 * the markdown file ("docs/guide.md:40:7 TS2304 Cannot find name 'sms'.").
 */
export function typeCheck(workspace: SnippetWorkspace): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(workspace.tsconfig, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (config === undefined) throw new Error(`cannot read ${workspace.tsconfig}`);
  if (config.errors.length > 0) throw new Error(config.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"));
  const program = ts.createProgram(
    workspace.files.map((f) => f.path),
    config.options,
  );
  const global = program.getOptionsDiagnostics().concat(program.getGlobalDiagnostics());
  if (global.length > 0) throw new Error(global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"));
  const result = new Map<string, string[]>();
  for (const file of workspace.files) {
    const source = program.getSourceFile(file.path);
    if (source === undefined) throw new Error(`${file.path} is not in the program`);
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    result.set(
      file.path,
      diagnostics.map((d) => {
        const at = d.start === undefined ? null : source.getLineAndCharacterOfPosition(d.start);
        const where = at === null ? file.snippet.doc : `${file.snippet.doc}:${file.snippet.line + at.line}:${at.character + 1}`;
        return `${where} TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      }),
    );
  }
  return result;
}

/** What a snippet's process did. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * Run one snippet module as its own Node process — `node --import tsx <file>` with the workspace's
 * tsconfig, the way a user runs a copied snippet — in `cwd`, with `env` added to this process's
 * environment (which carries a faked clock, if any, along). A process still running after `timeoutMs`
 * (an unclosed pool or timer keeps it alive) is killed and reported as timed out.
 */
export function runSnippet(
  workspace: SnippetWorkspace,
  file: SnippetFile,
  options: { cwd: string; env: Record<string, string | undefined>; timeoutMs: number },
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, TSX_TSCONFIG_PATH: workspace.tsconfig, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, ["--import", tsxLoader, file.path], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

/** Where a snippet sits, for messages: "docs/guide.md:36". */
export function locate(s: Snippet): string {
  return `${s.doc}:${s.line - 1}`;
}

/** The path of a generated module relative to the repository, for messages. */
export function shortPath(path: string): string {
  return relative(ROOT, path);
}

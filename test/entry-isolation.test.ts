/**
 * The main entry (and the storage entries) must not load fast-check, vitest or the testing kit:
 * bundle each entry and inspect what it pulls in.
 */
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

async function inputsOf(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    external: ["pg", "better-sqlite3"],
    logLevel: "silent",
  });
  return Object.keys(result.metafile.inputs);
}

describe("entry points load only what they need", () => {
  for (const entry of ["src/index.ts", "src/memory.ts", "src/postgres.ts", "src/sqlite.ts", "src/adapter.ts"]) {
    it(`${entry} pulls in neither fast-check, vitest nor the testing kit`, async () => {
      const inputs = await inputsOf(entry);
      expect(inputs.some((i) => i.includes("src/core/policy.ts"))).toBe(true); // the bundle is real
      expect(inputs.filter((i) => /fast-check|vitest|src\/testing/.test(i))).toEqual([]);
    });
  }

  it("the engine sits above no concrete storage: only the package entry picks the in-memory default", async () => {
    expect((await inputsOf("src/engine/engine.ts")).filter((i) => /src\/(memory|postgres|sqlite)\//.test(i))).toEqual([]);
  });

  it("selfassign/testing does bring fast-check (it is the kit)", async () => {
    expect((await inputsOf("src/testing.ts")).some((i) => i.includes("fast-check"))).toBe(true);
  });
});

describe("selfassign/testing arbitraries", () => {
  it("organizationMembers() gives a distinct owner and valid roles", async () => {
    const fc = await import("fast-check");
    const { arbitraries } = await import("../src/testing.js");
    fc.assert(
      fc.property(arbitraries.organizationMembers(), ({ ownerId, members }) => {
        expect(Object.keys(members)).not.toContain(ownerId);
        for (const role of Object.values(members)) expect(["owner", "admin", "texter"]).toContain(role);
      }),
    );
  });
});

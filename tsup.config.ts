import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    memory: "src/memory.ts",
    postgres: "src/postgres.ts",
    testing: "src/testing.ts",
    sqlite: "src/sqlite.ts",
    adapter: "src/adapter.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  target: "node20",
  // nanoid 5 is ESM-only: bundle it so `require("selfassign")` works without ESM interop.
  noExternal: ["nanoid"],
});

#!/usr/bin/env bash
# Install the packed package into an empty project (without fast-check, vitest, pg or better-sqlite3)
# and check that every runtime entry loads through require() and import, that the main entry pulls in
# no test tooling, and that selfassign/testing asks for its fast-check peer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
(cd "$root" && npm pack --silent --pack-destination "$dir" >/dev/null)
cd "$dir"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund ./selfassign-*.tgz
node -e '
  const s = require("selfassign");
  require("selfassign/memory"); require("selfassign/postgres"); require("selfassign/sqlite"); require("selfassign/adapter");
  const loaded = Object.keys(require.cache).filter((k) => /fast-check|vitest/.test(k));
  if (loaded.length > 0) { console.error("main entry loaded:", loaded); process.exit(1); }
  if (typeof s.createEngine !== "function") process.exit(1);
'
node --input-type=module -e '
  const s = await import("selfassign");
  await import("selfassign/memory"); await import("selfassign/postgres"); await import("selfassign/sqlite"); await import("selfassign/adapter");
  const engine = s.createEngine();
  const org = await engine.createOrganization({ name: "Fresh", ownerId: "a" });
  if (!org.id) process.exit(1);
'
if node -e 'require("selfassign/testing")' 2>/dev/null; then
  echo "selfassign/testing loaded without fast-check installed: it must need its peer" >&2
  exit 1
fi
echo "fresh install: require and import work; the main entry loads no test tooling"

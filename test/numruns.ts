/**
 * Property-run sizes. CI uses the defaults; set SELFASSIGN_NUM_RUNS (e.g. 2000) for deep local hunts.
 */
export function numRuns(ciDefault: number): number {
  const raw = process.env.SELFASSIGN_NUM_RUNS;
  if (raw === undefined || raw === "") return ciDefault;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SELFASSIGN_NUM_RUNS must be a positive integer, got "${raw}"`);
  return n;
}

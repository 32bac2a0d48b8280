/**
 * Prepared one-round-trip claims. A statement sent as text is planned on every call, and planning the
 * one-round-trip claim's statement (state, floor, hand-out, facts, counts) took 0.5 ms — a tenth of a
 * claim at one requester, against 0.1 ms for a bare SKIP LOCKED claim. So each connection prepares the
 * statement once, with SQL `PREPARE` (the extended protocol's prepared statements would cost a round
 * trip of their own: the claim's BEGIN, locks and COMMIT travel with it), and then sends `EXECUTE` with
 * the values, run with a generic plan (`plan_cache_mode`, for the transaction only). Every range of
 * these statements compares the campaign as an init-plan value (`claim.ts`), so the generic plan is
 * the plan each call would have got.
 *
 * What a connection prepared is remembered per client object, and a client that has not prepared a
 * statement sends, in the same round trip, a `DO` block that prepares it unless the server connection
 * already has it (a host's pool that wraps each checkout in a new object; a proxy in transaction mode,
 * PgBouncer, whose server connections each prepare it once). When the memory is wrong — the proxy gave
 * the client another server connection, the host's pool ran `DISCARD ALL` — the server refuses the
 * `EXECUTE` (`26000`) before anything changed, and the claim runs the usual way (`fast-claim.ts`).
 * @module
 */
import { createHash } from "node:crypto";
import { inlineValues, literal } from "./batch.js";

/** Statements one client prepares at most (each statement shape is one: gate, cap, open zones, ranks); past that, claims are sent as text. */
const MAX_PER_CLIENT = 32;

/** Sent before `EXECUTE`: the statement's generic plan, for this transaction only. */
const GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan";

/** PostgreSQL's SQLSTATEs for an `EXECUTE` of a statement the connection does not have, and for a prepared statement whose result type changed since (a schema change). */
const MISSING = "26000";
const CHANGED = "0A000";

/** The SQL type a value is prepared as (the adapter's values are text, whole numbers, text arrays and NULL). */
function sqlType(value: unknown): string {
  if (typeof value === "number") return "bigint";
  if (Array.isArray(value)) return "text[]";
  return "text";
}

/** One use of a prepared statement by a claim: see {@link PreparedStatements.use}. */
export interface PreparedUse {
  /** The statements to send, in place of the statement with its values inlined. */
  readonly sql: readonly string[];
  readonly name: string;
  readonly names: Set<string>;
  readonly sendsText: Set<string>;
}

/** What each client (connection) of an adapter prepared; see the module. */
export class PreparedStatements {
  private readonly prepared = new WeakMap<object, Set<string>>();
  /** Statements a client sends as text: their prepared form was refused for a changed result type. */
  private readonly asText = new WeakMap<object, Set<string>>();

  /**
   * The statements that run `text` (with `$1…` parameters) with `values` on `client`: `EXECUTE` with
   * a generic plan, after a `DO` block that prepares it unless this client prepared it before. `null`:
   * send the statement as text (the client prepared as many as it may, or this one was refused).
   */
  use(client: object, text: string, values: readonly unknown[]): PreparedUse | null {
    const types = values.map(sqlType);
    const name = `selfassign_${createHash("sha256").update(types.join(",")).update("\0").update(text).digest("hex").slice(0, 40)}`;
    const names = setOf(this.prepared, client);
    const sendsText = setOf(this.asText, client);
    if (sendsText.has(name) || (!names.has(name) && names.size >= MAX_PER_CLIENT)) return null;
    const execute = values.length === 0 ? `EXECUTE ${name}` : inlineValues(`EXECUTE ${name}(${values.map((_, i) => `$${i + 1}`).join(", ")})`, values);
    const prepare = `PREPARE ${name}(${types.join(", ")}) AS ${text}`;
    const ensure = `DO ${literal(`BEGIN IF NOT EXISTS (SELECT FROM pg_prepared_statements WHERE name = '${name}') THEN EXECUTE ${literal(prepare)}; END IF; END`)}`;
    return { sql: names.has(name) ? [GENERIC_PLAN, execute] : [ensure, GENERIC_PLAN, execute], name, names, sendsText };
  }

  /** The statements ran: the client has the statement prepared. */
  ran(use: PreparedUse): void {
    use.names.add(use.name);
  }

  /**
   * The transaction failed with `error`: true when the server refused the prepared statement (nothing
   * was changed; send the claim another way), after correcting what the client is known to have.
   */
  refused(use: PreparedUse, error: unknown): boolean {
    const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code === MISSING) use.names.delete(use.name);
    else if (code === CHANGED) use.sendsText.add(use.name);
    else return false;
    return true;
  }
}

function setOf(map: WeakMap<object, Set<string>>, key: object): Set<string> {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  return set;
}

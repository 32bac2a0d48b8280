/**
 * Prepared claims: the one-round-trip claim's statement, and a group's hand-out (`group-claim.ts`). A
 * statement sent as text is planned on every call, and planning the one-round-trip claim's statement
 * (state, floor, hand-out, facts, counts) took 0.5 ms — a tenth of a claim at one requester, against
 * 0.1 ms for a bare SKIP LOCKED claim. So each connection prepares such a statement once, with SQL
 * `PREPARE` (the extended protocol's prepared statements would cost a round trip of their own: the
 * claim's BEGIN, locks and COMMIT travel with it), and then sends `EXECUTE` with the values, run with
 * a generic plan (`plan_cache_mode`, for the transaction only: never in a host's transaction). Every
 * range of these statements compares the campaign as an init-plan value (`claim.ts`), so no estimate
 * depends on the campaign.
 *
 * What a connection prepared is remembered per client object, and a client that has not prepared a
 * statement sends, in the same round trip, a `DO` block that prepares it unless the server connection
 * already has it (a host's pool that wraps each checkout in a new object; a proxy in transaction mode,
 * PgBouncer, whose server connections each prepare it once). When the memory is wrong — the proxy gave
 * the client another server connection, the host's pool ran `DISCARD ALL` — the server refuses the
 * `EXECUTE` (`26000`) before anything changed, and the claim runs the usual way (`fast-claim.ts`).
 * A statement whose `DO` block fails (a role without `USAGE` on `plpgsql`), or whose result type
 * changed since it was prepared (`0A000`, after a schema change), is refused the same way once, and
 * the adapter sends it as text from then on. A server connection keeps at most
 * {@link MAX_PER_CONNECTION} of these statements: the `DO` block deallocates the oldest before it
 * prepares one more.
 * @module
 */
import { createHash } from "node:crypto";
import { inlineValues, literal } from "./batch.js";

/**
 * Statements a connection keeps at most (one per shape of the statement: batch size, gate, cap, ranks,
 * open contact zones). Past that, a client sends its claims as text, and a server connection that
 * prepares one more (for other clients, behind a proxy) deallocates its oldest.
 */
const MAX_PER_CONNECTION = 32;

/** Statement names an adapter remembers by their text (shapes: a few per campaign setting). */
const MAX_NAMES = 256;

/** Sent before `EXECUTE`: the statement's generic plan, for this transaction only. */
const GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan";

/** PostgreSQL's SQLSTATEs for an `EXECUTE` of a statement the connection does not have, for a prepared statement whose result type changed since (a schema change), and for a role without `USAGE` on `plpgsql`. */
const MISSING = "26000";
const CHANGED = "0A000";
const NO_PLPGSQL = "42501";

/** The SQL type a value is prepared as (the adapter's values are text, whole numbers, arrays of either, and NULL). */
function sqlType(value: unknown): string {
  if (typeof value === "number") return "bigint";
  if (Array.isArray(value)) return value.length > 0 && typeof value[0] === "number" ? "bigint[]" : "text[]";
  return "text";
}

/** One use of a prepared statement by a claim: see {@link PreparedStatements.use}. */
export interface PreparedUse {
  /** The statements to send, in place of the statement with its values inlined. */
  readonly sql: readonly string[];
  readonly name: string;
  /** What the client is known to have prepared. */
  readonly names: Set<string>;
  /** Whether `sql` prepares the statement (the `DO` block). */
  readonly prepares: boolean;
}

/** What each client (connection) of an adapter prepared; see the module. */
export class PreparedStatements {
  private readonly prepared = new WeakMap<object, Set<string>>();
  /** Statement names by parameter types and text ({@link PreparedStatements.nameOf}). */
  private readonly names = new Map<string, string>();
  /** Statements this adapter sends as text: preparing or running their prepared form failed. */
  private readonly asText = new Set<string>();

  /**
   * The statements that run `text` (with `$1…` parameters) with `values` on `client`: `EXECUTE` with
   * a generic plan, after a `DO` block that prepares it unless this client prepared it before. `null`:
   * send the statement as text (the client prepared as many as it may, or this one was refused).
   */
  use(client: object, text: string, values: readonly unknown[]): PreparedUse | null {
    const types = values.map(sqlType);
    const name = this.nameOf(types, text);
    let names = this.prepared.get(client);
    if (names === undefined) this.prepared.set(client, (names = new Set()));
    const known = names.has(name);
    if (this.asText.has(name) || (!known && names.size >= MAX_PER_CONNECTION)) return null;
    const execute = values.length === 0 ? `EXECUTE ${name}` : inlineValues(`EXECUTE ${name}(${values.map((_, i) => `$${i + 1}`).join(", ")})`, values);
    return { sql: known ? [GENERIC_PLAN, execute] : [prepareIfMissing(name, `PREPARE ${name}(${types.join(", ")}) AS ${text}`), GENERIC_PLAN, execute], name, names, prepares: !known };
  }

  /**
   * The statement's name: a hash of its parameter types and text, remembered by them (hashing the 5 kB
   * text on every claim cost tens of µs). At most {@link MAX_NAMES} are remembered.
   */
  private nameOf(types: readonly string[], text: string): string {
    const key = `${types.join(",")}\0${text}`;
    let name = this.names.get(key);
    if (name === undefined) {
      name = `selfassign_${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
      if (this.names.size >= MAX_NAMES) this.names.clear();
      this.names.set(key, name);
    }
    return name;
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
    const { code, where } = typeof error === "object" && error !== null ? (error as { code?: unknown; where?: unknown }) : {};
    if (code === MISSING) {
      use.names.delete(use.name);
      return true;
    }
    // The DO block's own failures name it in their context; a role without USAGE on plpgsql cannot start it.
    const doFailed = use.prepares && (code === NO_PLPGSQL || (typeof where === "string" && where.includes("inline_code_block")));
    if (code !== CHANGED && !doFailed) return false;
    this.asText.add(use.name);
    use.names.delete(use.name);
    return true;
  }
}

/**
 * A `DO` block that runs `prepare` (the `PREPARE` of `name`) unless the connection has `name`,
 * deallocating first the connection's oldest such statement when it has {@link MAX_PER_CONNECTION}.
 */
function prepareIfMissing(name: string, prepare: string): string {
  const ours = "starts_with(name, 'selfassign_')";
  // One line (the statements of a simple query are one per line: `transaction.ts`).
  const body = [
    `BEGIN IF NOT EXISTS (SELECT FROM pg_prepared_statements WHERE name = '${name}') THEN`,
    `IF (SELECT count(*) FROM pg_prepared_statements WHERE ${ours}) >= ${MAX_PER_CONNECTION} THEN`,
    `EXECUTE 'DEALLOCATE ' || (SELECT name FROM pg_prepared_statements WHERE ${ours} ORDER BY prepare_time LIMIT 1); END IF;`,
    `EXECUTE ${literal(prepare)}; END IF; END`,
  ];
  return `DO ${literal(body.join(" "))}`;
}

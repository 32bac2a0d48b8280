/**
 * Schema names: validated and quoted once, then interpolated into every statement.
 * @module
 */

/** A schema name usable as an identifier: letters, digits and underscores, not starting with a digit, ≤ 63 bytes. */
export function quoteSchema(schema: string): string {
  if (typeof schema !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError(`Invalid schema name ${JSON.stringify(schema)}: use letters, digits and underscores (max 63).`);
  }
  return `"${schema}"`;
}

/**
 * SQL text built from the code's own names (event types, facet names, JSON members), never from evidence: the
 * values are constants of the definitions, quoted all the same so that no name can end a literal.
 */
export const sqlTextLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** The expression of a CHECK constraint that allows exactly these values in a text column. */
export const inListCheck = (column: string, values: readonly string[]) => `"${column}" IN (${values.map(sqlTextLiteral).join(', ')})`;

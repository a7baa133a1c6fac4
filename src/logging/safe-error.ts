import { stdSerializers } from 'pino';

/**
 * Members of a database error that carry values rather than a description of the failure: TypeORM's
 * `parameters` (evidence bodies, raw request objects, lookup values, key hashes), PostgreSQL's `detail`
 * ("Failing row contains (...)", "Key (event_id)=(...) already exists") and `where` (a COPY line with its data).
 */
const VALUE_CARRYING_MEMBERS = ['parameters', 'detail', 'where'] as const;

/** A quoted literal in a PostgreSQL message: `invalid input syntax for type uuid: "<the value>"`. */
const QUOTED_VALUE = /"(?:[^"\\]|\\.)*"/g;

/**
 * The message of a database error, with the values it quotes left out. Data exceptions (SQLSTATE class 22) echo
 * the offending input in quotes; other messages quote names (a constraint, a column), which are kept.
 */
export function safeDatabaseMessage(message: string, sqlState: string | undefined): string {
  return sqlState?.startsWith('22') ? message.replace(QUOTED_VALUE, '"[value left out]"') : message;
}

type SerializedError = Record<string, unknown>;

function scrub(serialized: SerializedError): SerializedError {
  const safe: SerializedError = { ...serialized };
  for (const member of VALUE_CARRYING_MEMBERS) delete safe[member];
  const code = typeof safe.code === 'string' ? safe.code : undefined;
  if (typeof safe.message === 'string') safe.message = safeDatabaseMessage(safe.message, code);
  if (typeof safe.stack === 'string' && typeof serialized.message === 'string' && serialized.message !== safe.message) {
    safe.stack = safe.stack.replace(serialized.message, safe.message as string);
  }
  for (const nested of ['driverError', 'cause'] as const) {
    const value = safe[nested];
    if (value && typeof value === 'object') safe[nested] = scrub(value as SerializedError);
  }
  return safe;
}

/**
 * pino's `err` serializer, minus everything a failed statement knew about its data: a log line names the
 * statement, its SQLSTATE and the constraint, never the values it was given.
 */
export function safeErrorSerializer(error: unknown): unknown {
  if (!error || typeof error !== 'object') return error;
  return scrub(stdSerializers.err(error as Error) as unknown as SerializedError);
}

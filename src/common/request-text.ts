import type { FastifyRequest } from 'fastify';
import { fieldError, type FieldError, ProblemException } from './problem/problem';
import { UNSTORABLE_CHARACTER, unstorableReasonOf, unstorableTextError } from './storable-text';

/**
 * The first query or path parameter that cannot be used as text: a percent-encoding that does not decode to UTF-8
 * (the router would pass it on undecoded), or a decoded NUL or lone surrogate, which PostgreSQL refuses.
 */
export function findBadRequestText(request: Pick<FastifyRequest, 'url' | 'query' | 'params'>): FieldError | undefined {
  const queryStart = request.url.indexOf('?');
  if (queryStart >= 0) {
    for (const pair of request.url.slice(queryStart + 1).split('&')) {
      try {
        decodeURIComponent(pair.replace(/\+/g, ' '));
      } catch {
        const name = pair.split('=', 1)[0]!;
        return fieldError([name], 'invalid_percent_encoding', 'is not percent-encoded UTF-8');
      }
    }
  }
  for (const values of [request.query, request.params]) {
    if (values === null || typeof values !== 'object') continue;
    for (const [name, value] of Object.entries(values)) {
      for (const text of [name, ...(Array.isArray(value) ? value : [value])]) {
        const reason = typeof text === 'string' ? unstorableReasonOf(text) : undefined;
        if (reason) return unstorableTextError([printable(name)], reason);
      }
    }
  }
  return undefined;
}

/** A parameter name as it can be echoed in a problem: NUL and lone surrogates written as \u escapes. */
function printable(name: string): string {
  return name.replace(new RegExp(UNSTORABLE_CHARACTER.source, 'gu'), (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An onRequest hook: such a parameter is a 400, before any handler sends it to the database. */
export async function refuseBadRequestText(request: FastifyRequest): Promise<void> {
  const error = findBadRequestText(request);
  if (error) throw new ProblemException('invalid-request', { detail: `the parameter ${error.field} ${error.detail}`, errors: [error] });
}

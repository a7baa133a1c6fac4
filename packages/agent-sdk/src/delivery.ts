import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Envelope } from './events';

/** A source registered in jartrail (`POST /v1/sources` or `npx jartrail sources add`): its id and its secret. */
export interface SourceCredentials {
  readonly id: string;
  /** `whsec_` + base64, as jartrail returned it. */
  readonly secret: string;
}

/** What became of one event of a delivered batch. */
export interface ItemOutcome {
  readonly envelope: Envelope;
  readonly status: 'accepted' | 'duplicate' | 'conflict' | 'rejected';
  /** jartrail's problem document for a rejected or conflicting event. */
  readonly problem?: unknown;
}

export type BatchOutcome =
  /** jartrail answered for every event: each is recorded (accepted, duplicate) or refused for good (rejected, conflict). */
  | { readonly kind: 'answered'; readonly items: readonly ItemOutcome[] }
  /** Nothing of the batch is known to be recorded and sending it again may succeed (network, 5xx, 401, 429...). */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  /** jartrail refused the request as a whole and will refuse it again (400, 413, 415...). */
  | { readonly kind: 'refused'; readonly status: number; readonly problem: unknown };

export interface DeliveryTarget {
  /** jartrail's base URL, e.g. https://jartrail.example.com */
  readonly url: string;
  readonly source: SourceCredentials;
  readonly fetch?: typeof fetch;
  /** Per request; default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Signs a body as Standard Webhooks specifies, with the reference `standardwebhooks` library (jartrail verifies
 * with the same construction: HMAC-SHA256 over "{id}.{timestamp}.{body}" under the bytes after `whsec_`).
 */
export function signedHeaders(secret: string, id: string, body: string, at: Date = new Date()): Record<string, string> {
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
  };
}

// A whole-request answer that sending the same request again can change: the source's secret being rotated (401),
// the service shedding load (429, 503), an intermediary's time-out.
const RETRYABLE_STATUS = new Set([401, 403, 404, 408, 425, 429]);

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

interface BatchAnswer {
  readonly results: readonly { readonly index: number; readonly status: ItemOutcome['status']; readonly problem?: unknown }[];
}

function isBatchAnswer(body: unknown, count: number): body is BatchAnswer {
  const results = (body as Partial<BatchAnswer> | null)?.results;
  return Array.isArray(results) && results.length === count && results.every((result) => Number.isInteger(result?.index) && typeof result?.status === 'string');
}

/**
 * POSTs envelopes to `/v1/events/batch` as NDJSON, signed as the source. The batch's `webhook-id` names the
 * delivery; each envelope's own `id` is the event id that makes redelivery idempotent (a second delivery of a
 * recorded event is a `duplicate`, which changes nothing).
 */
export async function deliverBatch(target: DeliveryTarget, envelopes: readonly Envelope[]): Promise<BatchOutcome> {
  const body = `${envelopes.map((envelope) => JSON.stringify(envelope)).join('\n')}\n`;
  const url = new URL('/v1/events/batch', target.url);
  url.searchParams.set('source', target.source.id);
  let response: Response;
  try {
    response = await (target.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...signedHeaders(target.source.secret, `batch-${randomUUID()}`, body) },
      body,
      signal: AbortSignal.timeout(target.timeoutMs ?? 30_000),
    });
  } catch (error) {
    return { kind: 'retry', reason: `jartrail unreachable: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}` };
  }
  const text = await response.text().catch(() => '');
  let answer: unknown;
  try {
    answer = text === '' ? undefined : JSON.parse(text);
  } catch {
    answer = text;
  }
  if (response.status >= 500 || RETRYABLE_STATUS.has(response.status)) {
    return { kind: 'retry', reason: `jartrail answered ${response.status}`, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  }
  if (response.status !== 200 || !isBatchAnswer(answer, envelopes.length)) return { kind: 'refused', status: response.status, problem: answer };
  const items = answer.results
    .toSorted((a, b) => a.index - b.index)
    .map((result, position) => ({ envelope: envelopes[position]!, status: result.status, ...(result.problem !== undefined && { problem: result.problem }) }));
  return { kind: 'answered', items };
}

import { Agent, request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { addressLiteralOf, isPublicAddress, NonPublicAddressError, publicOnlyLookup } from '../../common/net/public-address';
import { type AttemptOutcome, RESPONSE_EXCERPT_CHARS } from './notification-attempt.entity';

export interface WebhookSenderOptions {
  readonly timeoutMs: number;
  readonly allowPrivateAddresses: boolean;
}

/** A signed message to one receiver. */
export interface OutgoingWebhook {
  readonly url: string;
  /** The receiver's whsec_ secret. */
  readonly secret: string;
  readonly messageId: string;
  readonly body: string;
}

export interface AttemptResult {
  readonly at: Date;
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

/** The answer is read this far and no further: enough for an excerpt, never a body to hold. */
const EXCERPT_BYTES = RESPONSE_EXCERPT_CHARS * 4;
const ERROR_CHARS = 256;

/**
 * POSTs Standard Webhooks (signed with the reference `standardwebhooks` library) with undici: one attempt, no
 * redirect followed (a 3xx is a failed attempt: a receiver that moved gets its subscription changed, it does not
 * move jartrail's requests), a timeout over the whole exchange, and names resolved through publicOnlyLookup so the
 * connection goes only to the public addresses just checked (no DNS rebinding) unless private ones are allowed.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(private readonly options: WebhookSenderOptions) {
    this.agent = new Agent({ connect: options.allowPrivateAddresses ? {} : { lookup: publicOnlyLookup } });
  }

  async send(message: OutgoingWebhook): Promise<AttemptResult> {
    const at = new Date();
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const url = new URL(message.url);
    const literal = addressLiteralOf(url.hostname);
    // An address literal is connected to without a lookup: checked here instead.
    if (!this.options.allowPrivateAddresses && literal !== undefined && !isPublicAddress(literal)) {
      return { at, durationMs: 0, outcome: 'address_refused', statusCode: null, error: `${literal} is not a public address`, responseExcerpt: null };
    }
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'jartrail-notifications',
          'webhook-id': message.messageId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(message.secret).sign(message.messageId, at, message.body),
        },
        body: message.body,
      });
      const excerpt = await readExcerpt(response.body);
      const delivered = response.statusCode >= 200 && response.statusCode <= 299;
      return { at, durationMs: elapsed(), outcome: delivered ? 'delivered' : 'http_status', statusCode: response.statusCode, error: null, responseExcerpt: excerpt };
    } catch (error) {
      const refused = causesOf(error).find((cause): cause is NonPublicAddressError => cause instanceof NonPublicAddressError);
      if (refused) return { at, durationMs: elapsed(), outcome: 'address_refused', statusCode: null, error: truncate(refused.message), responseExcerpt: null };
      if (signal.aborted) return { at, durationMs: elapsed(), outcome: 'timeout', statusCode: null, error: `no answer within ${this.options.timeoutMs} ms`, responseExcerpt: null };
      return { at, durationMs: elapsed(), outcome: 'connection_error', statusCode: null, error: truncate(describe(error)), responseExcerpt: null };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** At most EXCERPT_BYTES of the answer, as text without NUL, cut to RESPONSE_EXCERPT_CHARS; the rest is discarded unread. */
async function readExcerpt(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= EXCERPT_BYTES) break;
    }
  } catch {
    // An answer cut off after its status still has its status: the excerpt is what arrived.
  } finally {
    body.destroy();
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES)).replaceAll('\u0000', '');
  const excerpt = [...text].slice(0, RESPONSE_EXCERPT_CHARS).join('').trim();
  return excerpt === '' ? null : excerpt;
}

function causesOf(error: unknown): unknown[] {
  const causes: unknown[] = [];
  for (let current = error; current !== undefined && current !== null && causes.length < 5; current = (current as { cause?: unknown }).cause) causes.push(current);
  return causes;
}

/** The error's class and code and message, e.g. `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`. */
function describe(error: unknown): string {
  const innermost = causesOf(error).reverse().find((cause) => cause instanceof Error) as (Error & { code?: string }) | undefined;
  if (!innermost) return String(error);
  return `${innermost.code ?? innermost.name}: ${innermost.message}`;
}

const truncate = (text: string) => (text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS - 1)}…` : text);

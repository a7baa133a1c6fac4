import { Webhook } from 'standardwebhooks';
import { batchesOf, type GeneratedChain, type SenderKind } from './chains';
import type { HttpClient } from './load';

/** A source registered through the API, with its signing secret. */
export interface BenchSource {
  readonly id: string;
  readonly kind: SenderKind;
  readonly secret: string;
}

/** One delivery ready to send: path, signed headers, body. */
export interface SignedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Events in the delivery. */
  readonly events: number;
}

export async function registerSources(client: HttpClient, adminKey: string, tag: string): Promise<Record<SenderKind, BenchSource>> {
  const register = async (kind: SenderKind): Promise<BenchSource> => {
    const body = await client.expect(
      201,
      'POST',
      '/v1/sources',
      { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      JSON.stringify({ name: `bench-${kind}-${tag}`.slice(0, 64), kind }),
    );
    const created = JSON.parse(body) as { id: string; secret: string };
    return { id: created.id, kind, secret: created.secret };
  };
  return {
    authorization_server: await register('authorization_server'),
    token_service: await register('token_service'),
    agent: await register('agent'),
  };
}

/**
 * Signs deliveries as a real sender does: Standard Webhooks, with the `standardwebhooks` reference library,
 * over "{id}.{timestamp}.{body}". Signed just before a phase starts, so the timestamps are within the service's
 * 5-minute tolerance for the whole phase.
 */
export class Signer {
  private readonly webhooks = new Map<string, Webhook>();

  sign(source: BenchSource, path: '/v1/events' | '/v1/events/batch', id: string, body: string, events: number, at = new Date()): SignedRequest {
    let webhook = this.webhooks.get(source.id);
    if (!webhook) {
      webhook = new Webhook(source.secret);
      this.webhooks.set(source.id, webhook);
    }
    const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
    return {
      path: `${path}?source=${source.id}`,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp.getTime() / 1000),
        'webhook-signature': webhook.sign(id, timestamp, body),
      },
      body,
      events,
    };
  }
}

/**
 * Batches of `size` events, each from one source. Chains go in groups; the token service reports a group after
 * the authorization server, and the agent after the token service, so batches in flight at the same time
 * mostly concern different chains, as with independent real senders.
 */
export function signedBatches(tag: string, chains: readonly GeneratedChain[], size: number, sources: Record<SenderKind, BenchSource>, signer: Signer): SignedRequest[] {
  const perGroup = Math.max(1, Math.floor(size / 2));
  const groups: ReturnType<typeof batchesOf>[] = [];
  for (let offset = 0; offset < chains.length; offset += perGroup) groups.push(batchesOf(chains.slice(offset, offset + perGroup), size));
  const lag = { authorization_server: 0, token_service: 2, agent: 4 } as const;
  const ordered: ReturnType<typeof batchesOf> = [];
  for (let round = 0; round < groups.length + lag.agent; round++) {
    for (const kind of ['authorization_server', 'token_service', 'agent'] as const) {
      const group = groups[round - lag[kind]];
      if (group) ordered.push(...group.filter((batch) => batch.kind === kind));
    }
  }
  return ordered.map((batch, index) =>
    signer.sign(sources[batch.kind], '/v1/events/batch', `batch-${tag}-${index}`, JSON.stringify(batch.envelopes), batch.envelopes.length),
  );
}

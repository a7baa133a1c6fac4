import { Inject, Injectable } from '@nestjs/common';
import { Keyring } from '../common/crypto/keyring';
import { JwksFetchError, RemoteJwksCache } from '../common/jose/remote-jwks';
import { fieldError, ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { type SenderCredentials, SourcesService } from '../sources/sources.service';
import type { MinimizationPolicy } from '../evidence/event-type-definition';
import { EVENT_TYPE_NAMES } from '../evidence/event-types';
import type { ValidationContext } from '../evidence/event-validator';
import { SetRejection, type VerifiedSet, verifySecurityEventToken } from './security-event-token';
import { verifyWebhookSignature } from './webhook-signature';

/** One HTTP delivery as the controller received it: nothing in it is trusted yet. */
export interface Delivery {
  readonly sourceId: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** An authenticated sender: what validation of its events needs, and its source id. */
export type SenderContext = ValidationContext & { readonly sourceId: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function header(headers: Delivery['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Who sent a delivery: a source proven by its Standard Webhooks signature, or by the signature of the Security
 * Event Token it pushed. Nothing here reads the events themselves beyond what authenticates them.
 */
@Injectable()
export class SenderAuthentication {
  private readonly minimization: MinimizationPolicy;

  constructor(
    private readonly sources: SourcesService,
    private readonly remoteJwks: RemoteJwksCache,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.minimization = {
      subjectOf: (subject) => (config.privacy.pseudonymizeSubjects ? keyring.pseudonymOf(subject) : subject),
      keepRequestObjects: config.privacy.keepRequestObjects,
    };
  }

  /** A webhook delivery: the source in the URL, its signature over `{id}.{timestamp}.{body}` within the tolerance. */
  async webhookSender(delivery: Delivery): Promise<SenderContext> {
    if (!delivery.sourceId || !UUID.test(delivery.sourceId)) {
      throw new ProblemException('unauthenticated', { detail: 'name the sending source in the URL: ?source=<source id>' });
    }
    const credentials = await this.sources.credentialsFor(delivery.sourceId);
    if (!credentials) throw new ProblemException('unauthenticated', { detail: 'no such source' });
    const failure = verifyWebhookSignature(
      {
        id: header(delivery.headers, 'webhook-id'),
        timestamp: header(delivery.headers, 'webhook-timestamp'),
        signature: header(delivery.headers, 'webhook-signature'),
        body: delivery.body,
      },
      credentials.keys,
      new Date(),
      this.config.ingest.webhookToleranceSeconds,
    );
    switch (failure?.reason) {
      case undefined:
        break;
      case 'missing_header':
        throw new ProblemException('unauthenticated', { detail: `the ${failure.header} header is missing`, errors: [fieldError(['headers', failure.header], 'missing', 'this header is required')] });
      case 'malformed_id':
        throw new ProblemException('unauthenticated', { detail: 'webhook-id must be 1 to 256 printable characters without dots', errors: [fieldError(['headers', 'webhook-id'], 'malformed', 'is not a valid event id')] });
      case 'malformed_timestamp':
        throw new ProblemException('timestamp-out-of-tolerance', { detail: 'webhook-timestamp must be Unix seconds', errors: [fieldError(['headers', 'webhook-timestamp'], 'malformed', 'must be Unix seconds')] });
      case 'timestamp_out_of_tolerance':
        throw new ProblemException('timestamp-out-of-tolerance', {
          detail: `webhook-timestamp is ${Math.abs(failure.skewSeconds)} s in the ${failure.skewSeconds > 0 ? 'past' : 'future'}; at most ${this.config.ingest.webhookToleranceSeconds} s are accepted`,
          errors: [fieldError(['headers', 'webhook-timestamp'], 'out_of_tolerance', 'is too far from the current time')],
        });
      case 'no_matching_signature':
        throw new ProblemException('invalid-signature', { detail: 'no v1 signature matches a valid secret of this source', errors: [fieldError(['headers', 'webhook-signature'], 'no_match', 'does not verify')] });
    }
    if (!credentials.enabled) throw new ProblemException('forbidden', { detail: 'the source is disabled' });
    return this.contextOf(credentials);
  }

  /**
   * A pushed SET (RFC 8935): its signature under the key its `iss` (a source id) registered authenticates it. Every
   * refusal is a SetRejection with an RFC 8935 error code; a key set that cannot be fetched now is a 503, so the
   * transmitter retries.
   */
  async setSender(compact: string): Promise<{ set: VerifiedSet; sender: SenderContext }> {
    let credentials: SenderCredentials | undefined;
    const set = await verifySecurityEventToken(compact, {
      audience: this.config.sets.audience,
      knownTypes: EVENT_TYPE_NAMES,
      transmitter: async (iss) => {
        credentials = UUID.test(iss) ? await this.sources.credentialsFor(iss) : undefined;
        if (!credentials) return undefined;
        const keys = credentials.setKeys;
        if (!keys) return { keys: undefined };
        return { keys: 'jwks' in keys ? () => Promise.resolve(keys.jwks) : (kid) => this.remoteJwks.get(keys.jwksUri, kid) };
      },
    }).catch((error: unknown) => {
      if (error instanceof JwksFetchError) throw new ProblemException('unavailable', { detail: `the source's set_jwks_uri cannot be fetched now: ${error.message}` });
      throw error;
    });
    if (!credentials!.enabled) throw new SetRejection('access_denied', 'the source is disabled');
    return { set, sender: this.contextOf(credentials!) };
  }

  private contextOf(credentials: SenderCredentials): SenderContext {
    return { sourceId: credentials.source.id, sourceKind: credentials.source.kind, minimization: this.minimization, keyring: this.keyring };
  }
}

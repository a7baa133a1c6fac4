import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { calculateJwkThumbprint } from 'jose';
import { TtlCache } from '../common/cache/ttl-cache';
import type { SourceSecretEntity } from './source-secret.entity';
import { Keyring, UnknownMasterKeyError } from '../common/crypto/keyring';
import type { PublicKeySet } from '../common/jose/key-set';
import { jwksUriProblem } from '../common/jose/remote-jwks';
import { fieldError, ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { SECRET_PREFIX, secretKeyBytes } from '../common/crypto/webhook-secret';
import type { SourceKind } from './source-kind';
import type { SourceEntity } from './source.entity';
import { SetKeysTakenError, SourcesRepository, type SourceWithSecrets } from './sources.repository';

/** What the ingest path needs to authenticate a sender. */
export interface SenderCredentials {
  readonly source: Pick<SourceEntity, 'id' | 'name' | 'kind'>;
  readonly enabled: boolean;
  /** HMAC keys of every secret valid now. */
  readonly keys: readonly Buffer[];
  /** Where the keys for its Security Event Tokens are; undefined when it has none. */
  readonly setKeys?: { readonly jwks: PublicKeySet } | { readonly jwksUri: string };
}

/** The SET keys of a source as registered: a JWKS, a jwks_uri, or neither. */
export interface SetKeys {
  readonly jwks?: PublicKeySet;
  readonly jwksUri?: string;
}

export interface CreatedSource {
  readonly source: SourceWithSecrets;
  /** The new secret: returned once, stored only sealed. */
  readonly secret: string;
}

/** The RFC 7638 thumbprints of a registered set's keys, each once: the key itself, whatever its kid. */
async function thumbprintsOf(setKeys: SetKeys): Promise<string[]> {
  const thumbprints = await Promise.all(
    (setKeys.jwks?.keys ?? []).map((key, index) =>
      calculateJwkThumbprint(key, 'sha256').catch((error: unknown) => {
        // A key without the members its kty requires has no thumbprint, and could not verify anything either.
        throw new ProblemException('invalid-request', { detail: `set_jwks.keys[${index}]: ${(error as Error).message}`, errors: [fieldError(['set_jwks', 'keys', index], 'invalid_jwks', (error as Error).message)] });
      }),
    ),
  );
  return [...new Set(thumbprints)];
}

/** What a source secret is bound to (a master-key rotation re-seals it under the same). */
export function sourceSecretSealingContext(sourceId: string, secretId: string): string {
  return `source-secret:${sourceId}:${secretId}`;
}

@Injectable()
export class SourcesService {
  private readonly credentials: TtlCache<string, SenderCredentials | null>;

  constructor(
    private readonly sources: SourcesRepository,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.credentials = new TtlCache(config.ingest.sourceCacheTtlMs);
  }

  async create(name: string, kind: SourceKind, setKeys: SetKeys = {}): Promise<CreatedSource> {
    if (await this.sources.findByName(name)) throw new ProblemException('conflict', { detail: `a source named ${name} exists already` });
    const id = randomUUID();
    const { secret, sealed, sealedBy, secretId } = this.newSecret(id);
    try {
      const columns = this.setKeyColumns(setKeys);
      await this.refusingTakenKeys(setKeys, async () => this.sources.create({ id, name, kind, ...columns }, { id: secretId, sealed, sealedBy }, await thumbprintsOf(setKeys)));
    } catch (error) {
      // Two creations racing for one name: the unique constraint decides, the loser gets a clear 409.
      if ((error as { code?: string }).code === '23505') throw new ProblemException('conflict', { detail: `a source named ${name} exists already` });
      throw error;
    }
    return { source: (await this.sources.findWithSecrets(id))!, secret };
  }

  list(): Promise<SourceWithSecrets[]> {
    return this.sources.listWithSecrets();
  }

  async get(id: string): Promise<SourceWithSecrets> {
    const found = await this.sources.findWithSecrets(id);
    if (!found) throw new ProblemException('not-found', { detail: `no source ${id}` });
    return found;
  }

  /** Registers (or replaces, or with neither removes) the keys the source signs Security Event Tokens with. */
  async setSetKeys(id: string, setKeys: SetKeys): Promise<SourceWithSecrets> {
    const columns = this.setKeyColumns(setKeys);
    const updated = await this.refusingTakenKeys(setKeys, async () => this.sources.setSetKeys(id, columns, await thumbprintsOf(setKeys)));
    if (!updated) throw new ProblemException('not-found', { detail: `no source ${id}` });
    this.credentials.delete(id);
    return this.get(id);
  }

  /** A key another source holds is a 409 naming each such key: a SET's key names one transmitter. */
  private async refusingTakenKeys<T>(setKeys: SetKeys, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof SetKeysTakenError)) throw error;
      const thumbprints = await Promise.all((setKeys.jwks?.keys ?? []).map((key) => calculateJwkThumbprint(key, 'sha256').catch(() => '')));
      throw new ProblemException('conflict', {
        detail: 'a key of this set is registered by another source; a SET key names exactly one source',
        errors: thumbprints.flatMap((thumbprint, index) =>
          error.thumbprints.includes(thumbprint) ? [fieldError(['set_jwks', 'keys', index], 'key_registered', `another source holds this key (thumbprint ${thumbprint})`)] : [],
        ),
      });
    }
  }

  private setKeyColumns(setKeys: SetKeys) {
    if (setKeys.jwksUri !== undefined) {
      const problem = jwksUriProblem(setKeys.jwksUri, this.config.jwks);
      if (problem) throw new ProblemException('invalid-request', { detail: `set_jwks_uri ${problem}`, errors: [fieldError(['set_jwks_uri'], 'insecure_uri', problem)] });
    }
    return { setJwks: setKeys.jwks ? { keys: [...setKeys.jwks.keys] } : null, setJwksUri: setKeys.jwksUri ?? null };
  }

  async setEnabled(id: string, enabled: boolean): Promise<SourceWithSecrets> {
    const updated = await this.sources.setDisabled(id, !enabled);
    if (!updated) throw new ProblemException('not-found', { detail: `no source ${id}` });
    this.credentials.delete(id);
    return this.get(id);
  }

  /** A new secret; the old ones stay valid for the grace period, so senders can switch without losing events. */
  async rotateSecret(id: string, gracePeriodSeconds: number): Promise<CreatedSource> {
    const { secret, sealed, sealedBy, secretId } = this.newSecret(id);
    const rotated = await this.sources.rotate(id, { id: secretId, sealed, sealedBy }, new Date(Date.now() + gracePeriodSeconds * 1000));
    if (!rotated) throw new ProblemException('not-found', { detail: `no source ${id}` });
    this.credentials.delete(id);
    return { source: rotated, secret };
  }

  /** The sender's kind, state and HMAC keys, cached briefly; undefined for an unknown source. */
  async credentialsFor(id: string): Promise<SenderCredentials | undefined> {
    const cached = this.credentials.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const found = await this.sources.findWithSecrets(id);
    const credentials = found
      ? {
          source: { id: found.source.id, name: found.source.name, kind: found.source.kind },
          enabled: found.source.disabledAt === null,
          keys: found.secrets.map((secret) =>
            secretKeyBytes(this.openSecret(id, secret)),
          ),
          ...(found.source.setJwks ? { setKeys: { jwks: found.source.setJwks } } : found.source.setJwksUri ? { setKeys: { jwksUri: found.source.setJwksUri } } : {}),
        }
      : null;
    this.credentials.set(id, credentials);
    return credentials ?? undefined;
  }

  /** A secret sealed under a master key this replica lacks is a deployment fault: retryable, and named. */
  private openSecret(sourceId: string, secret: SourceSecretEntity): string {
    try {
      return this.keyring.sealing.open('secret', secret, sourceSecretSealingContext(sourceId, secret.id)).toString('utf8');
    } catch (error) {
      if (!(error instanceof UnknownMasterKeyError)) throw error;
      throw new ProblemException('unavailable', { detail: `the signing secret of source ${sourceId} is ${error.message}; nothing was written, send again later` });
    }
  }

  private newSecret(sourceId: string) {
    const secretId = randomUUID();
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
    return { secret, secretId, ...this.keyring.sealing.seal('secret', Buffer.from(secret, 'utf8'), sourceSecretSealingContext(sourceId, secretId)) };
  }
}

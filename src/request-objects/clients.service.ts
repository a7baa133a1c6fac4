import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { importJWK, type JWK } from 'jose';
import { Keyring } from '../common/crypto/keyring';
import type { PublicKeySet, VerificationKey } from '../common/jose/key-set';
import { jwksUriProblem, RemoteJwksCache } from '../common/jose/remote-jwks';
import { fieldError, ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { ClientEntity } from './client.entity';
import { type ClientFields, ClientsRepository } from './clients.repository';
import type { DecryptionKeyEntity } from './decryption-key.entity';
import type { ClientRegistration, CreateDecryptionKeyRequest } from './dto/client.dto';
import type { ClientPolicy, DecryptionKey, DisabledDecryptionKey } from './verification/request-object-verifier';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** What a decryption key's sealed JWK is bound to (a master-key rotation re-seals it under the same). */
export function decryptionKeySealingContext(id: string): string {
  return `decryption-key:${id}`;
}

/** The client registry, the decryption keys of authorization servers, and what verification needs of both. */
@Injectable()
export class ClientsService {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly remoteJwks: RemoteJwksCache,
    private readonly keyring: Keyring,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async create(clientId: string, registration: ClientRegistration): Promise<ClientEntity> {
    if (!(await this.clients.insert(this.fieldsOf(clientId, registration)))) {
      throw new ProblemException('conflict', { detail: `client ${clientId} is registered already; PUT /v1/clients/${encodeURIComponent(clientId)} replaces its registration` });
    }
    return (await this.clients.find(clientId))!;
  }

  async update(clientId: string, registration: ClientRegistration): Promise<ClientEntity> {
    const before = await this.clients.find(clientId);
    if (!before || !(await this.clients.update(this.fieldsOf(clientId, registration)))) throw new ProblemException('not-found', { detail: `no client ${clientId}` });
    if (before.jwksUri) this.remoteJwks.forget(before.jwksUri);
    return (await this.clients.find(clientId))!;
  }

  async get(clientId: string): Promise<ClientEntity> {
    const client = await this.clients.find(clientId);
    if (!client) throw new ProblemException('not-found', { detail: `no client ${clientId}` });
    return client;
  }

  list(): Promise<ClientEntity[]> {
    return this.clients.list();
  }

  /** Disabled: kept, because verdicts refer to it, but its request objects are no longer verified (client_disabled). */
  async setEnabled(clientId: string, enabled: boolean): Promise<ClientEntity> {
    if (!(await this.clients.setClientDisabled(clientId, !enabled))) throw new ProblemException('not-found', { detail: `no client ${clientId}` });
    return (await this.clients.find(clientId))!;
  }

  /** The policy and keys verification applies to this client; undefined when it is not registered. */
  async policyFor(clientId: string): Promise<ClientPolicy | undefined> {
    const client = await this.clients.find(clientId);
    if (!client) return undefined;
    const { jwks, jwksUri } = client;
    return {
      clientId: client.clientId,
      signingAlgs: client.requestObjectSigningAlgValues,
      requireSigned: client.requireSignedRequestObject,
      encryptionAlgs: client.requestObjectEncryptionAlgValues,
      encryptionEncs: client.requestObjectEncryptionEncValues,
      maxLifetimeSeconds: client.maxRequestObjectLifetime,
      ...(client.disabledAt && { disabledAt: client.disabledAt }),
      keys: jwksUri ? (kid) => this.remoteJwks.get(jwksUri, kid) : () => Promise.resolve(jwks as PublicKeySet),
    };
  }

  async addDecryptionKey(request: CreateDecryptionKeyRequest): Promise<DecryptionKeyEntity> {
    const jwk = request.jwk as JWK;
    if (!('d' in jwk)) throw new ProblemException('invalid-request', { detail: 'a decryption key is a private key', errors: [fieldError(['jwk', 'd'], 'missing', 'a private JWK has "d"')] });
    try {
      await importJWK(jwk, request.alg);
    } catch (error) {
      throw new ProblemException('invalid-request', { detail: `the key does not import for ${request.alg}: ${(error as Error).message}`, errors: [fieldError(['jwk'], 'invalid_key', 'is not a usable private key for this alg')] });
    }
    const id = randomUUID();
    const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) as JWK;
    return this.clients.insertDecryptionKey({
      id,
      issuer: request.issuer,
      kid: typeof jwk.kid === 'string' ? jwk.kid : null,
      alg: request.alg,
      publicJwk,
      ...this.keyring.sealing.seal('secret', Buffer.from(JSON.stringify(jwk), 'utf8'), decryptionKeySealingContext(id)),
    });
  }

  listDecryptionKeys(): Promise<DecryptionKeyEntity[]> {
    return this.clients.listDecryptionKeys();
  }

  /** For good: kept, because verdicts refer to it, but never opened again. */
  async disableDecryptionKey(id: string): Promise<DecryptionKeyEntity> {
    const key = await this.clients.disableDecryptionKey(id);
    if (!key) throw new ProblemException('not-found', { detail: `no decryption key ${id}` });
    return key;
  }

  /** The AS's private keys, opened and imported, for the verifier; the disabled ones only named, never opened. */
  async decryptionKeysFor(issuer: string): Promise<{ usable: DecryptionKey[]; disabled: DisabledDecryptionKey[] }> {
    const stored = await this.clients.decryptionKeysOf(issuer);
    const disabled = stored.filter((key) => key.disabledAt !== null).map((key) => ({ id: key.id, alg: key.alg, ...(key.kid !== null && { kid: key.kid }) }));
    const usable = await Promise.all(
      stored
        .filter((key) => key.disabledAt === null)
        .map(async (key) => {
          const jwk = JSON.parse(this.keyring.sealing.open('secret', key, decryptionKeySealingContext(key.id)).toString('utf8')) as JWK;
          return { ...(key.kid !== null && { kid: key.kid }), alg: key.alg, key: (await importJWK(jwk, key.alg)) as VerificationKey };
        }),
    );
    return { usable, disabled };
  }

  private fieldsOf(clientId: string, registration: ClientRegistration): ClientFields {
    if (registration.jwks_uri !== undefined) {
      const problem = jwksUriProblem(registration.jwks_uri, this.config.jwks);
      if (problem) throw new ProblemException('invalid-request', { detail: `jwks_uri ${problem}`, errors: [fieldError(['jwks_uri'], 'insecure_uri', problem)] });
    }
    return {
      clientId,
      jwks: registration.jwks ? { keys: [...registration.jwks.keys] } : null,
      jwksUri: registration.jwks_uri ?? null,
      requestObjectSigningAlgValues: [...new Set(registration.request_object_signing_alg_values)],
      requireSignedRequestObject: registration.require_signed_request_object,
      requireEncryptedRequestObject: registration.require_encrypted_request_object,
      requestObjectEncryptionAlgValues: registration.request_object_encryption_alg_values,
      requestObjectEncryptionEncValues: registration.request_object_encryption_enc_values,
      highImpactScopes: registration.high_impact_scopes,
      highImpactAuthorizationDetailsTypes: registration.high_impact_authorization_details_types,
      sensitiveScopes: registration.sensitive_scopes,
      sensitiveAuthorizationDetailsTypes: registration.sensitive_authorization_details_types,
      redirectUris: [...new Set(registration.redirect_uris)],
      maxRequestObjectLifetime: registration.max_request_object_lifetime,
    };
  }
}

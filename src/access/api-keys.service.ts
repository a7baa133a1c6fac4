import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TtlCache } from '../common/cache/ttl-cache';
import { ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import type { KeyAuditor } from './auditor';
import { SCOPES, type Scope } from './scopes';

export const API_KEY_PREFIX = 'jtk_';

/** What a presented bearer key is: one of ours and usable, one of ours but revoked, or not one of ours. */
export type KeyCheck =
  | { readonly status: 'valid'; readonly auditor: KeyAuditor }
  | { readonly status: 'revoked'; readonly apiKeyId: string }
  | { readonly status: 'unknown' };

export interface IssuedApiKey {
  readonly apiKey: ApiKeyEntity;
  /** The key itself: returned once, never stored. */
  readonly key: string;
}

function hashOf(key: string): Buffer {
  // Keys carry 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
  return createHash('sha256').update(key, 'utf8').digest();
}

@Injectable()
export class ApiKeysService {
  private readonly cache: TtlCache<string, KeyCheck>;

  constructor(
    private readonly apiKeys: ApiKeysRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new TtlCache(config.ingest.sourceCacheTtlMs);
  }

  /** Whose a bearer key is: the auditor it belongs to, or which revoked key it is, or nobody's. */
  async authenticate(key: string): Promise<KeyCheck> {
    const hash = hashOf(key);
    const cacheKey = hash.toString('base64url');
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    const found = await this.apiKeys.findByHash(hash);
    const check: KeyCheck = !found
      ? { status: 'unknown' }
      : found.revokedAt
        ? { status: 'revoked', apiKeyId: found.id }
        : { status: 'valid', auditor: { kind: 'api_key', apiKeyId: found.id, name: found.name, scopes: found.scopes } };
    this.cache.set(cacheKey, check);
    return check;
  }

  async issue(name: string, scopes: readonly Scope[]): Promise<IssuedApiKey> {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const apiKey = await this.apiKeys.create({ id: randomUUID(), name, keySha256: hashOf(key), scopes: [...new Set(scopes)] });
    return { apiKey, key };
  }

  /** BOOTSTRAP_ADMIN_KEY: an admin key with that value exists after start (unless it was revoked since). */
  async ensureBootstrapAdminKey(key: string): Promise<void> {
    await this.apiKeys.insertIfAbsent({ id: randomUUID(), name: 'bootstrap-admin', keySha256: hashOf(key), scopes: [...SCOPES] });
  }

  list(): Promise<ApiKeyEntity[]> {
    return this.apiKeys.list();
  }

  async revoke(id: string): Promise<ApiKeyEntity> {
    const revoked = await this.apiKeys.revoke(id);
    if (!revoked) throw new ProblemException('not-found', { detail: `no API key ${id}` });
    // Takes effect at once on this replica; other replicas see it when their cache entry expires.
    this.cache.clear();
    return revoked;
  }
}

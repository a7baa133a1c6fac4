import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TtlCache } from '../common/cache/ttl-cache';
import { ProblemException } from '../common/problem/problem';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import type { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import { SCOPES, type Scope } from './scopes';

export const API_KEY_PREFIX = 'jtk_';

export interface Auditor {
  readonly apiKeyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

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
  private readonly cache: TtlCache<string, Auditor | null>;

  constructor(
    private readonly apiKeys: ApiKeysRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new TtlCache(config.ingest.sourceCacheTtlMs);
  }

  /** The auditor a bearer key belongs to, or undefined for an unknown or revoked key. */
  async authenticate(key: string): Promise<Auditor | undefined> {
    const hash = hashOf(key);
    const cacheKey = hash.toString('base64url');
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    const found = await this.apiKeys.findActiveByHash(hash);
    const auditor = found ? { apiKeyId: found.id, name: found.name, scopes: found.scopes } : null;
    this.cache.set(cacheKey, auditor);
    return auditor ?? undefined;
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

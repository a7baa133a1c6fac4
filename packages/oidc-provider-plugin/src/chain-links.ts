import type Provider from 'oidc-provider';

/** A token of a grant, as jartrail knows it: what a revocation of the whole grant must name. */
export interface GrantToken {
  readonly jti: string;
  readonly token_hash?: string;
}

interface LinkRecord {
  jti: string;
  digest?: string;
  tokens?: GrantToken[];
  save(ttlSeconds: number): Promise<string>;
}

interface LinkModel {
  new (payload: { jti: string; digest?: string; tokens?: GrantToken[] }): LinkRecord;
  find(id: string, options?: { ignoreExpiration?: boolean }): Promise<LinkRecord | undefined>;
}

/**
 * What the plugin must remember between the AS's requests: which chain (request-object digest) an interaction, an
 * authorization code or a pushed request belongs to, and which tokens a grant has (to report each one when the
 * grant is revoked).
 *
 * It is kept by the AS's own storage: a model of oidc-provider (`JartrailLink`) saved through the adapter the AS
 * is configured with, so it is as durable as the AS's codes and sessions and shared by all of its instances, and
 * it expires as they do. A custom adapter sees one more model name (`JartrailLink`); adapters that store by name
 * need nothing else, adapters with a table per model need one for it.
 */
export class ChainLinks {
  private readonly model: LinkModel;

  constructor(provider: Provider) {
    // oidc-provider's models share one base class (BaseModel), which owns the adapter; ReplayDetection is the
    // smallest of them, so its parent is that base.
    const BaseModel = Object.getPrototypeOf(provider.ReplayDetection) as new (payload: object) => object;
    class JartrailLink extends BaseModel {
      static get IN_PAYLOAD(): string[] {
        return [...(Object.getPrototypeOf(JartrailLink) as { IN_PAYLOAD: string[] }).IN_PAYLOAD, 'digest', 'tokens'];
      }
    }
    this.model = JartrailLink as unknown as LinkModel;
  }

  async saveDigest(key: string, digest: string, ttlSeconds: number): Promise<void> {
    await new this.model({ jti: key, digest }).save(ttlSeconds);
  }

  async digest(key: string): Promise<string | undefined> {
    return (await this.model.find(key, { ignoreExpiration: false }))?.digest;
  }

  /** Adds tokens to a grant's list (the newest `max` are kept). Read, then written: two issuances racing may lose one entry. */
  async addGrantTokens(grantId: string, tokens: readonly GrantToken[], ttlSeconds: number, max = 200): Promise<void> {
    const key = `grant:${grantId}`;
    const known = (await this.model.find(key))?.tokens ?? [];
    await new this.model({ jti: key, tokens: [...known, ...tokens].slice(-max) }).save(ttlSeconds);
  }

  async grantTokens(grantId: string): Promise<readonly GrantToken[]> {
    return (await this.model.find(`grant:${grantId}`))?.tokens ?? [];
  }
}

import type { Scope } from './scopes';

/** An auditor who presented one of our API keys. */
export interface KeyAuditor {
  readonly kind: 'api_key';
  readonly apiKeyId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

/** An auditor who presented an access token (a JWT) of a configured identity provider, verified. */
export interface TokenAuditor {
  readonly kind: 'jwt';
  /** `sub` of the token: who, at the identity provider. */
  readonly subject: string;
  /** `iss` of the token: which identity provider. */
  readonly issuer: string;
  readonly scopes: readonly Scope[];
}

/** Whoever an auditor route let through: the access records name them either way. */
export type Principal = KeyAuditor | TokenAuditor;

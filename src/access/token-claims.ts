import type { JWTPayload } from 'jose';
import type { IdentityProviderConfig } from '../config/identity-providers';
import { SCOPES, type Scope } from './scopes';

/**
 * The claim a provider puts scopes or roles in: the top-level claim of that exact name first (namespaced claims such
 * as `https://example.com/roles` contain dots), else the dotted path through nested objects (`realm_access.roles`).
 */
export function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The values of a scope or roles claim: space-delimited in a string (`scope`, Entra's `scp`), or an array of strings. */
export function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((item) => item !== '');
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * The jartrail scopes a verified token carries. With a role map only mapped values count; without one the values that
 * are jartrail scopes themselves (anything else a provider grants, `openid` or another API's scopes, is ignored).
 */
export function scopesOf(payload: JWTPayload, provider: Pick<IdentityProviderConfig, 'scopeClaim' | 'roleMap'>): Scope[] {
  const values = claimValues(claimAt(payload, provider.scopeClaim));
  const scopes = provider.roleMap
    ? values.flatMap((value) => provider.roleMap!.get(value) ?? [])
    : values.filter((value): value is Scope => (SCOPES as readonly string[]).includes(value));
  return SCOPES.filter((scope) => scopes.includes(scope));
}

/** A `typ` header as RFC 7515 section 4.1.9 compares it: case-insensitive, `application/` omitted. */
export function normalizedType(typ: unknown): string | undefined {
  return typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
}

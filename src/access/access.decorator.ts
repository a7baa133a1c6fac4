import { applyDecorators, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Scope } from './scopes';

export const ACCESS_METADATA = 'jartrail:access';

/**
 * Who may call a route. Every route declares it; the access guard refuses a route that does not, so that a new
 * endpoint is closed until someone decides otherwise.
 */
export type AccessRule =
  /**
   * An auditor's access token or API key with this scope, or with any one of these scopes (a route's own scope and a
   * broader one that includes it: triage takes `audit:triage` or `audit:admin`; the first is the least that suffices);
   * null: any valid credential, whatever its scopes, for routes about the credential itself. The request is recorded
   * in the access records.
   */
  | { readonly kind: 'auditor'; readonly scope: Scope | AnyOfScopes | null }
  /** A webhook sender, authenticated by its signature inside the ingest service (the body is part of it). */
  | { readonly kind: 'sender' }
  /** Health checks: no credentials. */
  | { readonly kind: 'public' };

/** Several scopes of which a credential must hold one (at least two; the first is the least that suffices). */
export type AnyOfScopes = readonly [Scope, Scope, ...Scope[]];

/** The scopes of which a credential must hold one to pass an auditor rule; empty when any credential passes. */
export function acceptedScopes(rule: { readonly scope: Scope | AnyOfScopes | null }): readonly Scope[] {
  if (rule.scope === null) return [];
  return typeof rule.scope === 'string' ? [rule.scope] : rule.scope;
}

/** "the audit:read scope", "one of the scopes audit:triage, audit:admin": what a refusal says is missing. */
export function describeScopes(scopes: readonly Scope[]): string {
  return scopes.length === 1 ? `the ${scopes[0]} scope` : `one of the scopes ${scopes.join(', ')}`;
}

/** Fastify route config of auditor routes: their API key is checked before the body is read (registerEarlyAuthentication). */
export interface EarlyAuthenticationRouteConfig {
  readonly earlyAuthentication?: true;
}

export const Access = (rule: AccessRule) => {
  const decorators: (ClassDecorator | MethodDecorator)[] = [SetMetadata(ACCESS_METADATA, rule)];
  if (rule.kind === 'auditor') {
    decorators.push(
      // A route has one fastify route config: an auditor route cannot also take an opaque body (sender routes do).
      RouteConfig({ earlyAuthentication: true } satisfies EarlyAuthenticationRouteConfig),
      // The security requirement, with this scope, is written into the OpenAPI document from this rule (openapi-document.ts).
      ApiUnauthorizedResponse({
        description: 'No credential, an unknown or revoked API key, or an access token that does not verify (problem details; WWW-Authenticate error="invalid_token", token_error says why)',
      }),
    );
    const scopes = acceptedScopes(rule);
    if (scopes.length > 0) {
      const lacking = scopes.length === 1 ? `lacks the ${scopes[0]} scope` : `holds none of the scopes ${scopes.join(', ')} (any one would do)`;
      decorators.push(ApiForbiddenResponse({ description: `The access token or API key ${lacking} (problem details; WWW-Authenticate error="insufficient_scope")` }));
    }
  }
  return applyDecorators(...decorators);
};

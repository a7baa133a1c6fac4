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
   * An auditor's access token or API key with this scope (null: any valid credential, whatever its scopes, for
   * routes about the credential itself); the request is recorded in the access records.
   */
  | { readonly kind: 'auditor'; readonly scope: Scope | null }
  /** A webhook sender, authenticated by its signature inside the ingest service (the body is part of it). */
  | { readonly kind: 'sender' }
  /** Health checks: no credentials. */
  | { readonly kind: 'public' };

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
    if (rule.scope !== null) {
      decorators.push(ApiForbiddenResponse({ description: `The access token or API key lacks the ${rule.scope} scope (problem details; WWW-Authenticate error="insufficient_scope")` }));
    }
  }
  return applyDecorators(...decorators);
};

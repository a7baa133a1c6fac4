import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem';
import { sendProblem, toProblem } from '../common/problem/problem.filter';
import { JWT_SHAPE } from '../config/identity-providers';
import { ACCESS_METADATA, acceptedScopes, type AccessRule, describeScopes, type EarlyAuthenticationRouteConfig } from './access.decorator';
import { AccessRecorder } from './access-recorder';
import { AccessTokensService } from './access-tokens.service';
import { ApiKeysService } from './api-keys.service';
import type { Principal } from './auditor';
import { IdentityProviderUnavailableError } from './identity-provider-keys';

/** `accessDetail`: what an admin action changed, set by its handler and kept in the access record. */
export type AuditorRequest = FastifyRequest & { auditor?: Principal; accessDetail?: Record<string, unknown> };

/** RFC 7235: the scheme is case-insensitive. 8 KiB holds an access token with many claims and an RSA-4096 signature. */
const BEARER = /^Bearer ([\x21-\x7E]{1,8192})$/i;
/** API keys are ours: `jtk_` and 43 characters, or a BOOTSTRAP_ADMIN_KEY of at most 512. */
const MAX_API_KEY_LENGTH = 512;

/** How long a client should wait before trying again when the identity provider's keys cannot be had. */
const PROVIDER_RETRY_AFTER_SECONDS = 30;

/**
 * Applies each route's access rule. Fails closed: a route without a rule is refused. Auditors present
 * `Authorization: Bearer <credential>`: an access token (a JWT) of a configured identity provider, or an API key
 * (opaque, never with dots: a bearer value with the shape of a JWT is always verified as one). The answers follow
 * RFC 6750 (WWW-Authenticate with invalid_token or insufficient_scope).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly accessTokens: AccessTokensService,
    private readonly recorder: AccessRecorder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
    if (!rule) throw new ProblemException('forbidden', { detail: 'this route declares no access rule' });
    if (rule.kind !== 'auditor') return true;

    const request = context.switchToHttp().getRequest<AuditorRequest>();
    const auditor = await this.authenticate(request);
    const accepted = acceptedScopes(rule);
    if (accepted.length > 0 && !accepted.some((scope) => auditor.scopes.includes(scope))) {
      const problem = new ProblemException('forbidden', {
        detail: `this request needs ${describeScopes(accepted)}`,
        // required_scope when one scope is accepted (as before); accepted_scopes always, every scope that would do.
        extensions: { ...(accepted.length === 1 && { required_scope: accepted[0] }), accepted_scopes: accepted },
        // RFC 6750's scope attribute lists scopes a token needs all of: of alternatives it names the least that suffices.
        headers: { 'WWW-Authenticate': `Bearer realm="jartrail", error="insufficient_scope", scope="${accepted[0]}"` },
      });
      // A refused look is still a look: it goes into the access records too.
      await this.recorder.record(request, auditor, problem.status);
      throw problem;
    }
    return true;
  }

  /**
   * The auditor whose API key or access token the request carries; 401 problem details for none, a malformed one, an
   * unknown or revoked key, or a token that does not verify; 503 when the identity provider's keys cannot be had.
   */
  async authenticate(request: AuditorRequest): Promise<Principal> {
    if (request.auditor) return request.auditor;
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (match && JWT_SHAPE.test(match[1]!)) return this.authenticateToken(request, match[1]!);
    if (!match || match[1]!.length > MAX_API_KEY_LENGTH) {
      const problem = new ProblemException('unauthenticated', {
        detail: 'send an access token or an API key as "Authorization: Bearer <credential>"',
        headers: { 'WWW-Authenticate': 'Bearer realm="jartrail"' },
      });
      // Refused attempts are recorded too; of a header that is no bearer key, not a byte (it may be a password).
      await this.recorder.recordRefusal(request, { credential: request.headers.authorization === undefined ? 'no_key' : 'malformed' }, problem.status);
      throw problem;
    }
    const check = await this.apiKeys.authenticate(match[1]!);
    if (check.status !== 'valid') {
      const problem = new ProblemException('unauthenticated', {
        detail: 'the API key is unknown or revoked',
        headers: { 'WWW-Authenticate': 'Bearer realm="jartrail", error="invalid_token"' },
      });
      await this.recorder.recordRefusal(
        request,
        check.status === 'revoked' ? { credential: 'revoked_key', apiKeyId: check.apiKeyId } : { credential: 'unknown_key', presentedKey: match[1]! },
        problem.status,
      );
      throw problem;
    }
    const auditor = check.auditor;
    request.auditor = auditor;
    return auditor;
  }

  private async authenticateToken(request: AuditorRequest, token: string): Promise<Principal> {
    let check;
    try {
      check = await this.accessTokens.verify(token);
    } catch (error) {
      if (!(error instanceof IdentityProviderUnavailableError)) throw error;
      // Neither valid nor invalid: a 401 would make a client throw away a token that may be good.
      const problem = new ProblemException('unavailable', {
        detail: 'the identity provider that issued the token cannot be reached to verify it; try again later',
        extensions: { token_error: 'identity_provider_unavailable' },
        headers: { 'Retry-After': String(PROVIDER_RETRY_AFTER_SECONDS) },
      });
      await this.recorder.recordRefusal(request, { credential: 'refused_jwt', presentedToken: token, tokenError: 'identity_provider_unavailable' }, problem.status);
      throw problem;
    }
    if (check.status !== 'valid') {
      const problem = new ProblemException('unauthenticated', {
        detail: check.description,
        extensions: { token_error: check.reason },
        // error_description is fixed text of ours (no quotes, no backslashes), never a part of the token.
        headers: { 'WWW-Authenticate': `Bearer realm="jartrail", error="invalid_token", error_description="${check.description.replaceAll('"', "'")}"` },
      });
      await this.recorder.recordRefusal(
        request,
        { credential: 'refused_jwt', presentedToken: token, tokenError: check.reason, ...(check.verified && { verified: check.verified }) },
        problem.status,
      );
      throw problem;
    }
    request.auditor = check.auditor;
    return check.auditor;
  }
}

/**
 * Authenticates admin and auditor requests as soon as their headers are in, before fastify reads and parses the
 * body (up to 10 MiB): an anonymous client gets its 401 at once and holds no buffer. The guard then finds the
 * auditor on the request and checks the scope. `resolveGuard` is called at the first request: the hook is
 * registered before Nest has built its providers.
 */
export function registerEarlyAuthentication(fastify: FastifyInstance, resolveGuard: () => AccessGuard): void {
  const logger = new Logger('AccessGuard');
  let resolved: AccessGuard | undefined;
  const guard = () => (resolved ??= resolveGuard());
  // preParsing: after the onRequest middleware (the request log line, the correlation id), before the body is read.
  fastify.addHook('preParsing', async (request, reply, payload) => {
    if (!(request.routeOptions.config as EarlyAuthenticationRouteConfig | undefined)?.earlyAuthentication) return payload;
    try {
      await guard().authenticate(request as AuditorRequest);
      return payload;
    } catch (error) {
      const problem = toProblem(error);
      if (problem.status >= 500) logger.error({ err: error, correlationId: request.id }, 'authentication failed');
      return sendProblem(request, reply, problem);
    }
  });
}

import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem';
import { sendProblem, toProblem } from '../common/problem/problem.filter';
import { ACCESS_METADATA, type AccessRule, type EarlyAuthenticationRouteConfig } from './access.decorator';
import { AccessRecorder } from './access-recorder';
import { ApiKeysService, type Auditor } from './api-keys.service';

/** `accessDetail`: what an admin action changed, set by its handler and kept in the access record. */
export type AuditorRequest = FastifyRequest & { auditor?: Auditor; accessDetail?: Record<string, unknown> };

const BEARER = /^Bearer ([\x21-\x7E]{1,512})$/;

/**
 * Applies each route's access rule. Fails closed: a route without a rule is refused. Auditor keys come as
 * `Authorization: Bearer <key>`, and the answers follow RFC 6750 (WWW-Authenticate, insufficient_scope).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly recorder: AccessRecorder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
    if (!rule) throw new ProblemException('forbidden', { detail: 'this route declares no access rule' });
    if (rule.kind !== 'auditor') return true;

    const request = context.switchToHttp().getRequest<AuditorRequest>();
    const auditor = await this.authenticate(request);
    if (!auditor.scopes.includes(rule.scope)) {
      const problem = new ProblemException('forbidden', {
        detail: `this request needs the ${rule.scope} scope`,
        extensions: { required_scope: rule.scope },
        headers: { 'WWW-Authenticate': `Bearer realm="jartrail", error="insufficient_scope", scope="${rule.scope}"` },
      });
      // A refused look is still a look: it goes into the access records too.
      await this.recorder.record(request, auditor, problem.status);
      throw problem;
    }
    return true;
  }

  /** The auditor whose API key the request carries; 401 problem details for none, a malformed or an unknown one. */
  async authenticate(request: AuditorRequest): Promise<Auditor> {
    if (request.auditor) return request.auditor;
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match) {
      const problem = new ProblemException('unauthenticated', {
        detail: 'send an API key as "Authorization: Bearer <key>"',
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

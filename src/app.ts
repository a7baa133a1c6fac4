import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AccessGuard, registerEarlyAuthentication } from './access/access.guard';
import { SignInOptionsService } from './access/sign-in-options.service';
import { AppModule, type AppRuntime } from './app.module';
import { BODY_JSON_LIMITS, findJsonLimitViolation } from './common/json-limits';
import { registerReviewConsole } from './console/review-console';
import { buildOpenApiDocument as buildDocument } from './openapi/openapi-document';
import { problemClientErrorHandler } from './common/problem/client-error';
import { ProblemException } from './common/problem/problem';
import { replyWithProblem } from './common/problem/problem.filter';
import { refuseBadRequestText } from './common/request-text';
import { JsonInputError, parseStrictJson } from './common/strict-json';
import { findUnstorableText } from './common/storable-text';
import { eventSchema, securityEventTokenClaimsSchema } from './ingest/dto/event-contract.dto';
import type { OpaqueBodyRouteConfig } from './ingest/opaque-body';

export const SERVICE_VERSION = '0.1.0';

const routerLogger = new NestLogger('Router');

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is a sane token, else a fresh UUID; logs and problems carry it. */
function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
  // pino-http reads the id from the raw request, so request logs and fastify agree on it.
  (request as IncomingMessage & { id: string }).id = id;
  return id;
}

/**
 * Body parsing is ours: ingest routes get the exact bytes (their signature covers them, and nothing is parsed
 * before the sender is authenticated); every other route gets JSON parsed without prototype poisoning.
 */
function registerBodyParsers(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  const isOpaque = (request: { routeOptions: { config: unknown } }) => Boolean((request.routeOptions.config as OpaqueBodyRouteConfig).opaqueBody);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (isOpaque(request)) return done(null, body);
    if (body.length === 0) return done(null, undefined);
    let value: unknown;
    try {
      value = parseStrictJson(body);
    } catch (error) {
      if (!(error instanceof JsonInputError)) throw error;
      return done(new ProblemException('malformed-json', { detail: error.message, errors: error.errors }), undefined);
    }
    const tooComplex = findJsonLimitViolation(value, BODY_JSON_LIMITS);
    if (tooComplex) return done(new ProblemException('json-too-complex', { detail: tooComplex.detail, errors: [tooComplex] }), undefined);
    const unstorable = findUnstorableText(value);
    if (unstorable) return done(new ProblemException('unstorable-text', { detail: `${unstorable.field || 'the body'} ${unstorable.detail}`, errors: [unstorable] }), undefined);
    done(null, value);
  });
  fastify.addContentTypeParser('application/secevent+jwt', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (isOpaque(request)) return done(null, body);
    done(new ProblemException('unsupported-media-type', { detail: 'Security Event Tokens are accepted by POST /v1/sets only' }), undefined);
  });
  fastify.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (isOpaque(request)) return done(null, body);
    done(new ProblemException('unsupported-media-type', { detail: 'NDJSON is accepted by POST /v1/events/batch only' }), undefined);
  });
}

export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  return buildDocument(app, {
    version: SERVICE_VERSION,
    description:
      'The audit trail for agent authorization: signed webhooks in (request-object verification, consent, tokens, tool calls), ' +
      'evidence chains out. Errors are RFC 9457 problem details (application/problem+json).',
    components: [
      { schema: eventSchema, io: 'input' },
      { schema: securityEventTokenClaimsSchema, io: 'input' },
    ],
  });
}

export interface CreateAppOptions {
  /** Serve the OpenAPI UI at /docs and the document at /openapi.json (default true). */
  readonly openApi?: boolean;
  /** Where the review console's bundle is (default dist/console of this package). */
  readonly consoleAssetsDir?: string;
}

/** The whole service as a Nest application on fastify, initialised but not yet listening. */
export async function createApp(runtime: AppRuntime, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const { ingest, http } = runtime.config;
  const adapter = new FastifyAdapter({
    // The largest body any route takes; routes with opaque bodies get their own limit below.
    bodyLimit: Math.max(ingest.maxBatchBytes, 1024 * 1024),
    genReqId: correlationIdOf,
    return503OnClosing: true,
    // The router answers a bad URL (400) or an over-long parameter (414) before Nest sees the request.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => replyWithProblem(request, reply, error, routerLogger),
    // A client has this long to send its whole request, body included (408 and the connection closed after), so
    // slow or stalled clients cannot hold connections and descriptors for ever. Node checks the deadline
    // periodically; a quarter of the timeout (at most 1 s) keeps the overshoot small.
    requestTimeout: http.requestTimeoutMs,
    http: {
      requestTimeout: http.requestTimeoutMs,
      headersTimeout: Math.min(60_000, http.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(http.requestTimeoutMs / 4))),
    },
    clientErrorHandler: problemClientErrorHandler,
  });
  const fastify = adapter.getInstance();
  fastify.addHook('onRoute', (route) => {
    const limit = (route.config as OpaqueBodyRouteConfig | undefined)?.opaqueBody;
    if (limit) route.bodyLimit = limit === 'event' ? ingest.maxEventBytes : ingest.maxBatchBytes;
  });
  fastify.addHook('onRequest', refuseBadRequestText);
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Resolved at the first request, once Nest (created below) has built its providers.
  registerEarlyAuthentication(fastify, () => app.get(AccessGuard));

  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(runtime), adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  registerBodyParsers(app);
  if (options.openApi !== false) {
    SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
  }
  await registerReviewConsole(app, {
    assetsDir: options.consoleAssetsDir,
    // The page exchanges its sign-in code at the providers' token endpoints (as discovery names them, cached).
    connectOrigins: async () => {
      const { identity_providers: providers } = await app.get(SignInOptionsService).get();
      return providers.flatMap((provider) => [provider.issuer, provider.token_endpoint ?? []].flat());
    },
  });
  await app.init();
  return app;
}

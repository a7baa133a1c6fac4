import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem';
import { sendProblem, toProblem } from '../common/problem/problem.filter';
import { consoleAssetsDir } from './package-root';

/** Where the review console is served: the page at /review/, its script and style sheet beside it. */
export const CONSOLE_PATH = '/review';

export interface ReviewConsoleOptions {
  /** The built bundle (console-build.ts); default dist/console of this package. */
  readonly assetsDir?: string;
  /**
   * Origins the page may call besides its own: the identity providers' token endpoints, for sign-in. Asked at each
   * answer (the endpoints come from discovery documents, read and cached by the service); a failure adds none.
   */
  readonly connectOrigins?: () => Promise<readonly string[]>;
}

/**
 * The page's Content-Security-Policy: its own script and style sheet only (no inline code, no other origin), no
 * framing, no plugins, no <base>, and Trusted Types required with no policy allowed, so that no string can ever
 * become markup or script in the page, even through a library.
 */
export function contentSecurityPolicy(connectOrigins: readonly string[] = []): string {
  const connect = ["'self'", ...new Set(connectOrigins.flatMap(originOf))].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src ${connect}`,
    `form-action ${connect}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

const ORIGIN = /^https?:\/\/[A-Za-z0-9.\-[\]:]+$/;

/**
 * The origin of a URL, as a CSP source; nothing for anything else. The endpoints come from discovery documents, so
 * a value that could smuggle a directive in (a space, a semicolon, a quote) must never reach the header.
 */
function originOf(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const { protocol, origin } = new URL(url);
  return (protocol === 'https:' || protocol === 'http:') && ORIGIN.test(origin) ? [origin] : [];
}

/** Serves the console's bundle at /review (before app.init()), with its security headers on every answer there. */
export async function registerReviewConsole(app: NestFastifyApplication, options: ReviewConsoleOptions = {}): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0]!;
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return;
    // Only the page's own policy governs what it may fetch: the identity providers are asked for the page alone.
    const isPage = path === `${CONSOLE_PATH}/` || path.endsWith('.html');
    const origins = isPage && options.connectOrigins ? await options.connectOrigins().catch(() => []) : [];
    reply.header('content-security-policy', contentSecurityPolicy(origins));
    reply.header('x-content-type-options', 'nosniff');
    // The sign-in redirect brings an authorization code in the URL: no Referer may carry it elsewhere.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    // Revalidated on every load (ETag), so a new version of the service serves its own console at once.
    reply.header('cache-control', 'no-cache');
  });

  const root = options.assetsDir ?? consoleAssetsDir();
  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = (request: FastifyRequest, reply: FastifyReply) =>
      sendProblem(request, reply, toProblem(new ProblemException('unavailable', { detail: 'the review console is not built: run npm run build' })));
    fastify.get(CONSOLE_PATH, notBuilt);
    fastify.get(`${CONSOLE_PATH}/*`, notBuilt);
    return;
  }
  await app.register(fastifyStatic as never, {
    root,
    prefix: `${CONSOLE_PATH}/`,
    // Routes for the files present at start, and nothing else under /review (an unknown path is a 404 problem).
    wildcard: false,
    redirect: true,
    index: ['index.html'],
    decorateReply: false,
    dotfiles: 'deny',
  });
}

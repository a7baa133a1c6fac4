import { RouteConfig } from '@nestjs/platform-fastify';

/** Which configured size limit applies to a route whose body is kept as raw bytes. */
export type BodyLimit = 'event' | 'batch';

export interface OpaqueBodyRouteConfig {
  readonly opaqueBody?: BodyLimit;
}

/**
 * The route receives its body as the exact bytes sent, unparsed: a webhook signature covers those bytes, and the
 * sender is authenticated before anything in the body is interpreted. The limit is enforced while reading.
 */
export const OpaqueBody = (limit: BodyLimit) => RouteConfig({ opaqueBody: limit } satisfies OpaqueBodyRouteConfig);

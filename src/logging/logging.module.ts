import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { safeErrorSerializer } from './safe-error';

/**
 * pino JSON logs, one line per request with its correlation id. What is logged of a request is chosen field by
 * field: no headers (they carry API keys and webhook signatures), no query values (they can carry subjects), no
 * bodies (they carry evidence), no parameters or row values of a failed statement (see safe-error.ts).
 */
export const LoggingModule = LoggerModule.forRootAsync({
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) => ({
    // Every route; nestjs-pino's own default pattern does not match under Nest 12's fastify adapter.
    forRoutes: ['{*splat}'],
    pinoHttp: {
      level: config.logLevel,
      // The id comes from fastify (see createApp), which set it on the raw request.
      genReqId: (request: IncomingMessage) => (request as IncomingMessage & { id: string }).id,
      serializers: {
        req: (request: IncomingMessage & { id?: string }) => {
          const [path, query] = (request.url ?? '').split('?', 2);
          return {
            id: request.id,
            method: request.method,
            path,
            query_parameters: query ? [...new URLSearchParams(query).keys()] : undefined,
          };
        },
        res: (response: ServerResponse) => ({ statusCode: response.statusCode }),
        err: safeErrorSerializer,
      },
      customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
        error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
    },
  }),
});

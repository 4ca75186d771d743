import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { AppConfig } from '../../config/app-config.js';
import { currentRequest } from '../http/request-context.js';
import { traceFields } from '../tracing/trace-context.js';
import { redactSecrets, redactUrl } from './redact.js';

/**
 * What a log line may say of an error: never its stack, SQL or parameters. It is handed what
 * a line logs under `err`: usually the error itself, sometimes the plain object of pino's own
 * error serializer (with `type` and `message`).
 */
export function describeError(error: unknown): { type: string; message?: string; code?: unknown } {
  if (typeof error !== 'object' || error === null) return { type: typeof error };
  const { type, message, code } = error as { type?: unknown; message?: unknown; code?: unknown };
  const name = error instanceof Error ? error.name : typeof type === 'string' ? type : 'object';
  return { type: name, ...(typeof message === 'string' ? { message: message.slice(0, 300) } : {}), code };
}

/**
 * A line written while a request is served carries its id; while a trace is active, its trace
 * id. Called only for lines that are written.
 */
function lineContext(): { reqId?: string; traceId?: string } {
  const request = currentRequest();
  return request ? { reqId: request.id as string, ...traceFields() } : traceFields();
}

/**
 * JSON logs; the line per request is written by `logRequests` (request-log.ts), with its id,
 * method, route, status and latency. Headers and bodies are not logged at all; any other
 * object passes through `redactSecrets`, so a password, token, key, cookie or hash cannot
 * reach a log line by a field name.
 */
export function loggerOptions(config: AppConfig, destination?: DestinationStream): Params {
  return {
    pinoHttp: [
      {
        level: config.log.level,
        formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
        mixin: lineContext,
        // What a line may say of a request and its response, whoever logs them.
        serializers: {
          req: (req: { id?: unknown; method?: string; originalUrl?: string; url?: string }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.originalUrl ?? req.url ?? ''),
          }),
          res: (res: { statusCode: number | null }) => ({ statusCode: res.statusCode }),
          err: describeError,
        },
      },
      ...(destination ? [destination] : []),
    ] as Params['pinoHttp'],
    // nestjs-pino's own request middleware (pino-http, and a context per request for its
    // child logger) is not mounted: `logRequests` writes the request lines, `lineContext`
    // gives every other line its request id. nestjs-pino still builds the root logger.
    forRoutes: [],
  };
}

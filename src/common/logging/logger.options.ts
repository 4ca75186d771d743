import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { AppConfig } from '../../config/app-config.js';
import { redactSecrets, redactUrl } from './redact.js';

/** What a log line may say of an error: never its stack, SQL or parameters. */
export function describeError(error: unknown): { type: string; message?: string; code?: unknown } {
  if (!(error instanceof Error)) return { type: typeof error };
  return { type: error.name, message: error.message.slice(0, 300), code: (error as { code?: unknown }).code };
}

function withRoute(req: IncomingMessage, fields: object): object {
  // The matched route pattern (`/api/v1/resources/:id`) groups requests without their ids.
  return { ...fields, route: (req as Request).route?.path as string | undefined };
}

/**
 * JSON logs, one line per request with its id, method, route, status and latency. Headers
 * and bodies are not logged at all; any other object passes through `redactSecrets`, so a
 * password, token, key, cookie or hash cannot reach a log line by a field name.
 */
export function loggerOptions(config: AppConfig, destination?: DestinationStream): Params {
  return {
    pinoHttp: [
      {
        level: config.log.level,
        genReqId: (req) => (req as Request).id,
        formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
        serializers: {
          req: (req: { id?: unknown; method?: string; url?: string }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.url ?? ''),
          }),
          res: (res: { statusCode: number | null }) => ({ statusCode: res.statusCode }),
          err: describeError,
        },
        customSuccessObject: (req: IncomingMessage, _res: ServerResponse, fields: object) => withRoute(req, fields),
        customErrorObject: (req: IncomingMessage, _res: ServerResponse, _error: Error, fields: object) =>
          withRoute(req, fields),
        customLogLevel: (_req, res, error) =>
          error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
        // Probes every few seconds would drown the log.
        autoLogging: { ignore: (req) => req.url?.startsWith('/health/') ?? false },
        quietReqLogger: true,
      },
      ...(destination ? [destination] : []),
    ] as Params['pinoHttp'],
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import type { AppConfig } from '../../config/app-config.js';
import { redactSecrets, redactUrl } from './redact.js';

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
          req: (req: IncomingMessage & { id?: unknown; raw?: Request }) => ({
            id: req.id,
            method: req.method,
            url: redactUrl(req.url ?? ''),
          }),
          res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
        },
        customProps: (req) => ({ route: (req as Request).route?.path as string | undefined }),
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Params } from 'nestjs-pino';
import { levels, type DestinationStream, type LevelWithSilent } from 'pino';
import type { AppConfig } from '../../config/app-config.js';
import { traceFields } from '../tracing/trace-context.js';
import { redactSecrets, redactUrl } from './redact.js';

/**
 * What a log line may say of an error: never its stack, SQL or parameters. pino-http hands
 * this the output of pino's own error serializer (a plain object with `type` and `message`),
 * other loggers the error itself.
 */
export function describeError(error: unknown): { type: string; message?: string; code?: unknown } {
  if (typeof error !== 'object' || error === null) return { type: typeof error };
  const { type, message, code } = error as { type?: unknown; message?: unknown; code?: unknown };
  const name = error instanceof Error ? error.name : typeof type === 'string' ? type : 'object';
  return { type: name, ...(typeof message === 'string' ? { message: message.slice(0, 300) } : {}), code };
}

function withRoute(req: IncomingMessage, fields: object): object {
  // The matched route pattern (`/api/v1/resources/:id`) groups requests without their ids.
  return { ...fields, route: (req as Request).route?.path as string | undefined };
}

/**
 * The level of a request's line: errors and 5xx `error`, the rest `info`, refusals (4xx)
 * included. A refusal is the client's mistake, not the operator's, and the audit trail
 * already keeps those that matter to security (refused credentials, denials, rate limits,
 * counted per address and minute), so at `LOG_LEVEL=warn` a flood of refused requests writes
 * no line per request (a line made each refusal cost about a tenth more CPU: the bench's S8).
 * The level is `silent` when the configured one drops the line anyway, so that pino-http
 * skips building it.
 */
export function requestLogLevel(configured: LevelWithSilent): (status: number, failed: boolean) => LevelWithSilent {
  const threshold = configured === 'silent' ? Infinity : levels.values[configured]!;
  return (status, failed) => {
    const level = failed || status >= 500 ? 'error' : 'info';
    return levels.values[level]! >= threshold ? level : 'silent';
  };
}

/**
 * JSON logs, one line per request with its id, method, route, status and latency. Headers
 * and bodies are not logged at all; any other object passes through `redactSecrets`, so a
 * password, token, key, cookie or hash cannot reach a log line by a field name.
 */
export function loggerOptions(config: AppConfig, destination?: DestinationStream): Params {
  const levelOf = requestLogLevel(config.log.level);
  return {
    pinoHttp: [
      {
        level: config.log.level,
        genReqId: (req) => (req as Request).id,
        formatters: { log: (object) => redactSecrets(object) as Record<string, unknown> },
        // The trace id of the request (or traced job) the line belongs to, when tracing is on.
        mixin: traceFields,
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
        customLogLevel: (_req, res, error) => levelOf(res.statusCode, Boolean(error)),
        // Probes every few seconds would drown the log.
        autoLogging: { ignore: (req) => req.url?.startsWith('/health/') ?? false },
        quietReqLogger: true,
      },
      ...(destination ? [destination] : []),
    ] as Params['pinoHttp'],
  };
}

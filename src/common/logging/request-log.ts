import type { NextFunction, Request, Response } from 'express';
import { levels, type LevelWithSilent, type Logger } from 'pino';

/**
 * The level of a request's line: errors and 5xx `error`, the rest `info`, refusals (4xx)
 * included. A refusal is the client's mistake, not the operator's, and the audit trail
 * already keeps those that matter to security (refused credentials, denials, rate limits,
 * counted per address and minute), so at `LOG_LEVEL=warn` a flood of refused requests writes
 * no line per request (a line made each refusal cost about a tenth more CPU: the bench's S8).
 * The level is `silent` when the configured one drops the line anyway, so that
 * `logRequests` skips building it.
 */
export function requestLogLevel(configured: LevelWithSilent): (status: number, failed: boolean) => LevelWithSilent {
  const threshold = configured === 'silent' ? Infinity : levels.values[configured]!;
  return (status, failed) => {
    const level = failed || status >= 500 ? 'error' : 'info';
    return levels.values[level]! >= threshold ? level : 'silent';
  };
}

/**
 * One line per request, once its response is done or abandoned: its id, method, URL (secrets
 * in the query redacted), matched route, status and latency; a 5xx as `request errored`.
 * Every other line written while the request is served carries its id through the logger's
 * mixin (logger.options.ts), so nothing is built for a request whose line the level drops.
 * pino-http, which nestjs-pino mounts by default, made two child loggers per request before
 * knowing, one of them serialising the request: about 5 % of a read at `LOG_LEVEL=warn`.
 *
 * Mounted before every route, so the routes Express serves before Nest (OAuth, docs,
 * metrics) are logged like the others.
 */
export function logRequests(logger: Logger, configured: LevelWithSilent) {
  const levelOf = requestLogLevel(configured);
  return (req: Request, res: Response, next: NextFunction): void => {
    // Probes every few seconds would drown the log.
    if (req.url.startsWith('/health/')) return next();
    const startedAt = performance.now();
    // 'close' comes once for every response: after 'finish', or alone when the client left first.
    res.once('close', () => {
      const failed = res.statusCode >= 500;
      const level = levelOf(res.statusCode, failed);
      if (level === 'silent') return;
      // Serialised by the logger's `req` and `res` serializers (logger.options.ts).
      const line = {
        req,
        res,
        // The matched route pattern (`/api/v1/resources/:id`) groups requests without their ids.
        route: (req.route as { path?: string } | undefined)?.path,
        responseTime: Math.round(performance.now() - startedAt),
      };
      const message = failed ? 'request errored' : res.writableFinished ? 'request completed' : 'request aborted';
      logger[level](line, message);
    });
    next();
  };
}

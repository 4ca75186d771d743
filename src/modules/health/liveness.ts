import type { NextFunction, Request, Response } from 'express';
import { RouteDeclarationError, type RouteSecurity } from '../../common/auth/route-security.js';

export const LIVENESS_PATH = '/health/live';

/** What liveness answers: the process runs and its event loop turns. */
export const LIVE = { status: 'ok' } as const;
const LIVE_JSON = JSON.stringify(LIVE);

/**
 * The handler of an Express route at LIVENESS_PATH (GET and HEAD, matched as Nest matches its
 * own routes), in the Express pipeline right after the request id, the request log, the metrics
 * and the security headers. A probe without a credential is answered there: the guard would
 * have nothing to check, so it skips the router walk and Nest's pipeline, which were about a
 * third of its cost (docs/performance.md). A request with a credential goes on to the
 * controller's route, whose guard refuses a bad one with 401 as on every route
 * (docs/contract.md). Which headers count as a credential is the auth module's rule, passed in.
 *
 * Answering early is only what the guard would do for a route that is public, never rate
 * limited and not audited; `route` is what the controller's route declares, so the server
 * refuses to boot if that declaration changes, instead of bypassing it.
 */
export function answerLivenessEarly(
  route: RouteSecurity,
  carriesCredential: (request: Request) => boolean,
): (req: Request, res: Response, next: NextFunction) => void {
  if (route.access?.kind !== 'public' || route.rateLimit?.kind !== 'skip' || route.auditAction !== undefined) {
    throw new RouteDeclarationError(
      `${LIVENESS_PATH} is answered before the guard, which only holds for a @Public(), @SkipRateLimit() ` +
        'route without @Audited: change answerLivenessEarly with its declaration.',
    );
  }
  return (req, res, next) => {
    if (!carriesCredential(req)) {
      // The body is always the same: written as it is, without Express's serialization and
      // content negotiation (Node adds the Content-Length, and sends no body to a HEAD).
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(LIVE_JSON);
      return;
    }
    next();
  };
}

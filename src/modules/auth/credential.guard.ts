import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import type { Request, Response } from 'express';
import passport, { type Strategy } from 'passport';
import type { Principal } from '../../common/auth/principal.js';
import { routeSecurity } from '../../common/auth/route-security.js';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors/app-error.js';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';
import { RateLimitGuard } from '../rate-limit/rate-limit.guard.js';
import { CredentialStrategies } from './credential-strategies.js';
import { StepUpService } from './mfa/step-up.service.js';
import { presentedCredential, refusalChallenge, SESSION_COOKIE, type PresentedCredential } from './credentials.js';
import { RefusedCredentials } from './refused-credentials.js';
import { CsrfService } from './sessions/csrf.service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The one global guard, default deny. It finds the one credential of the request,
 * authenticates it through its passport strategy (a present but invalid credential is
 * 401 everywhere, public routes included), checks CSRF for cookie sessions, then the
 * route's access policy, the second-factor enrolment its role may require, and the step-up a
 * sensitive route asks for. Only `@Public()` routes admit anonymous callers.
 */
@Injectable()
export class CredentialGuard implements CanActivate {
  private readonly refused = new RefusedCredentials();

  constructor(
    private readonly csrf: CsrfService,
    private readonly strategies: CredentialStrategies,
    private readonly rateLimits: RateLimitGuard,
    private readonly metrics: MetricsRegistry,
    private readonly events: EventEmitter2,
    private readonly stepUp: StepUpService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const credential = presentedCredential(request);
    // Every declaration of the route, read once per handler, nearest first (a handler's
    // @Authenticated over its controller's @Public()).
    const route = routeSecurity(context.getHandler(), context.getClass());
    // A refused credential is counted against its address before the 401, so guessing
    // tokens is rate limited like any anonymous traffic; once that budget is spent the
    // address is refused before its next credential is looked up (see refuseSpentAddress).
    if (credential && route.rateLimit?.kind !== 'skip') this.rateLimits.refuseSpentAddress(request, response);
    let refusal = credential
      ? await this.authenticate(credential, request, response).catch((error: unknown) => error)
      : undefined;
    // Signing in (and fetching a CSRF token to sign in with) must work for a browser whose
    // session expired: its stale cookie is dropped (already cleared in the answer) and the
    // request goes on as anonymous. The new session's id is always a fresh one.
    if (refusal && credential?.kind === 'session' && route.replacesStaleSession) {
      delete (request.cookies as Record<string, unknown>)[SESSION_COOKIE];
      refusal = undefined;
    }
    await this.rateLimits.canActivate(context);
    if (refusal) throw refusal;
    if (
      request.principal?.authMethod === 'session' &&
      !SAFE_METHODS.has(request.method) &&
      !this.csrf.isValid(request)
    ) {
      throw new ForbiddenError('Missing or invalid X-CSRF-Token for this session.');
    }
    const { access } = route;
    if (access?.kind === 'public') return true;
    if (!request.principal) {
      if (access?.orAnonymous) return true;
      throw new UnauthenticatedError();
    }
    if (!access) throw new ForbiddenError('This route declares no access policy.');
    if (!access.policy.allows(request.principal, request)) {
      throw new ForbiddenError(`This needs ${access.policy.description}.`);
    }
    if (!route.allowedBeforeMfaEnrollment) await this.stepUp.assertEnrolledIfRequired(request.principal);
    if (route.recentSignIn?.applies(request)) await this.stepUp.assertRecentSignIn(request.principal);
    return true;
  }

  /**
   * Sets `request.principal`, or throws the 401 for a credential that does not check out.
   * A credential refused lately from the same address is refused again without its lookup.
   */
  private async authenticate(credential: PresentedCredential, request: Request, response: Response): Promise<void> {
    const strategy = this.strategies.for(credential.kind);
    const principal =
      strategy && !this.refused.isRefused(credential, request)
        ? await runStrategy(strategy, request, response)
        : undefined;
    if (principal) {
      request.principal = principal;
      return;
    }
    if (strategy) this.refused.remember(credential, request);
    this.metrics.authFailures.inc({ method: credential.kind, reason: strategy ? 'invalid' : 'unsupported' });
    const record: AuditRecord = {
      action: 'auth.credential.refused',
      outcome: 'denied',
      security: true,
      status: 401,
      details: { kind: credential.kind },
    };
    await this.events.emitAsync(AUDIT_RECORD, record);
    if (credential.kind === 'session') response.clearCookie(SESSION_COOKIE, { path: '/' });
    throw new UnauthenticatedError('The credential is invalid, expired or revoked.', refusalChallenge(credential));
  }
}

/**
 * Runs one passport strategy for one request. Passport decorates the strategy object it
 * is given with per-request callbacks, so each request gets its own object whose
 * prototype is the shared strategy.
 */
function runStrategy(strategy: Strategy, request: Request, response: Response): Promise<Principal | undefined> {
  return new Promise((resolve, reject) => {
    const perRequest = Object.create(strategy) as Strategy;
    const handler = passport.authenticate(perRequest, { session: false }, (error: unknown, user: Principal | false) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(user || undefined),
    ) as (req: Request, res: Response, next: (error?: unknown) => void) => void;
    handler(request, response, reject);
  });
}

import type { Type } from '@nestjs/common';
import type { AuditAction } from '../audit/audit-actions.js';
import type { AccessPolicy } from './access-policy.js';
import { ALLOWED_BEFORE_MFA_ENROLLMENT, RECENT_SIGN_IN, type RecentSignInRule } from './step-up.js';

/** Who may call a route: anyone, or a signed-in caller who passes `policy` (anonymous callers too with `orAnonymous`). */
export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated'; readonly policy: AccessPolicy; readonly orAnonymous: boolean };

/** Scoped limits a route may declare (DRF's ScopedRateThrottle), configured in AppConfig. */
export type RateLimitScope = 'auth';

/** Skipped entirely (probes), or also counted against a stricter scoped limit. */
export type RateLimitDeclaration =
  { readonly kind: 'skip' } | { readonly kind: 'scoped'; readonly scope: RateLimitScope };

/** Everything a route declares about its security, as the guard, the limiter, the audit interceptor and the snapshot read it. */
export interface RouteSecurity {
  /** Undefined: the route declares nothing, and the guard refuses it (default deny). */
  readonly access: RouteAccess | undefined;
  /** Undefined: the identity limits (anonymous, user, API key) only. */
  readonly rateLimit: RateLimitDeclaration | undefined;
  /** The one event per request the audit interceptor writes (`@Audited`). */
  readonly auditAction: AuditAction | undefined;
  /** What the route's service records itself, as it happens (`@AuditedInService`): sign-in failures, lockouts, reuse. */
  readonly serviceAuditActions: readonly AuditAction[];
  /** A stale `sid` cookie is ignored here rather than refused (signing in, fetching a CSRF token). */
  readonly replacesStaleSession: boolean;
  /** Step-up (`@RequiresRecentSignIn`): which requests need a recent sign-in with the factor. */
  readonly recentSignIn: RecentSignInRule | undefined;
  /** Open to a user whose role requires a second factor before they enrol one (`@AllowedBeforeMfaEnrollment`). */
  readonly allowedBeforeMfaEnrollment: boolean;
}

export const ROUTE_ACCESS = 'route:access';
export const ROUTE_RATE_LIMIT = 'route:rate-limit';
export const ROUTE_AUDIT_ACTION = 'route:audit-action';
export const ROUTE_SERVICE_AUDIT_ACTIONS = 'route:service-audit-actions';
export const ROUTE_REPLACES_STALE_SESSION = 'route:replaces-stale-session';

/** A route declared in a way the server refuses to boot with. */
export class RouteDeclarationError extends Error {
  override readonly name = 'RouteDeclarationError';
}

type Target = object;

function nameOf(target: Target, property?: string | symbol): string {
  const owner = typeof target === 'function' ? target : target.constructor;
  return property === undefined ? (owner as Type).name : `${(owner as Type).name}.${String(property)}`;
}

/**
 * A decorator for a handler or a controller that writes `key` once: a second declaration of
 * the same kind on the same target (`@Public()` and `@Authenticated()` on one handler) is an
 * error when the class is defined, that is at boot, not a rule silently overridden.
 */
export function declareOnce(key: string, what: string, value: unknown): MethodDecorator & ClassDecorator {
  return ((target: Target, property?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value as Target | undefined) ?? target;
    if (Reflect.hasOwnMetadata(key, holder)) {
      throw new RouteDeclarationError(`${nameOf(target, property)} declares its ${what} twice; keep one declaration.`);
    }
    Reflect.defineMetadata(key, value, holder);
    return descriptor;
  }) as MethodDecorator & ClassDecorator;
}

/** The metadata keys @nestjs/throttler's @Throttle and @SkipThrottle write; nothing here reads them. */
const THROTTLER_METADATA = 'THROTTLER:';

function refuseThrottlerDecorators(target: Target, handler: Target): void {
  for (const holder of [handler, target]) {
    const keys = Reflect.getOwnMetadataKeys(holder) as unknown[];
    if (keys.some((key) => typeof key === 'string' && key.startsWith(THROTTLER_METADATA))) {
      throw new RouteDeclarationError(
        `${nameOf(target, holder === handler ? (handler as { name: string }).name : undefined)} uses @nestjs/throttler's ` +
          '@Throttle or @SkipThrottle, which this server does not read: use @ScopedRateLimit or @SkipRateLimit.',
      );
    }
  }
}

/** Per controller, per handler: read once, then a map lookup on every request. */
const cache = new WeakMap<Target, WeakMap<Target, RouteSecurity>>();

/**
 * The one reader of a route's declarations, nearest first: what the handler declares wins
 * over what its controller declares, kind by kind, so a `@Public()` controller never makes
 * its `@Authenticated({ permission })` handler public. Cached per handler.
 */
export function routeSecurity(handler: Target, controller: Type | Target): RouteSecurity {
  let byHandler = cache.get(controller);
  if (!byHandler) {
    byHandler = new WeakMap();
    cache.set(controller, byHandler);
  }
  let security = byHandler.get(handler);
  if (!security) {
    refuseThrottlerDecorators(controller, handler);
    const nearest = <T>(key: string): T | undefined =>
      (Reflect.getOwnMetadata(key, handler) ?? Reflect.getMetadata(key, controller)) as T | undefined;
    security = {
      access: nearest<RouteAccess>(ROUTE_ACCESS),
      rateLimit: nearest<RateLimitDeclaration>(ROUTE_RATE_LIMIT),
      auditAction: nearest<AuditAction>(ROUTE_AUDIT_ACTION),
      serviceAuditActions: nearest<AuditAction[]>(ROUTE_SERVICE_AUDIT_ACTIONS) ?? [],
      replacesStaleSession: nearest<boolean>(ROUTE_REPLACES_STALE_SESSION) ?? false,
      recentSignIn: nearest<RecentSignInRule>(RECENT_SIGN_IN),
      allowedBeforeMfaEnrollment: nearest<boolean>(ALLOWED_BEFORE_MFA_ENROLLMENT) ?? false,
    };
    byHandler.set(handler, security);
  }
  return security;
}

/** The access column of the route-policy snapshot. */
export function describeAccess(access: RouteAccess | undefined): string {
  if (!access) return 'DENIED (no policy)';
  switch (access.kind) {
    case 'public':
      return 'public';
    case 'authenticated':
      return `${access.orAnonymous ? 'anonymous or ' : ''}authenticated: ${access.policy.description}`;
  }
}

/** The rate-limit column of the route-policy snapshot: `default` is the identity limit every request counts against. */
export function describeRateLimit(rateLimit: RateLimitDeclaration | undefined): string {
  if (!rateLimit) return 'default';
  switch (rateLimit.kind) {
    case 'skip':
      return 'none';
    case 'scoped':
      return `default+${rateLimit.scope}`;
  }
}

/** The audit column of the route-policy snapshot: the interceptor's action, then what the service records. */
export function describeAudit({ auditAction, serviceAuditActions }: RouteSecurity): string {
  const written = [
    ...(auditAction ? [auditAction] : []),
    ...(serviceAuditActions.length > 0 ? [`${serviceAuditActions.join(', ')} (service)`] : []),
  ];
  return written.join('; ') || '—';
}

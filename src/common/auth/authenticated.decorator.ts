import { applyDecorators } from '@nestjs/common';
import { ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { documentCredentials } from '../http/openapi.js';
import { can, signedIn, type AccessPolicy } from './access-policy.js';
import type { Permission } from './permission.js';
import { declareOnce, ROUTE_ACCESS, type RouteAccess } from './route-security.js';

export interface AuthenticatedOptions {
  /** Shorthand for `policy: can(permission)`. */
  permission?: Permission;
  policy?: AccessPolicy;
  /**
   * Anonymous callers may pass too (DRF's IsAuthenticatedOrReadOnly for reads); a caller who
   * does present a credential must still satisfy the policy.
   */
  anonymous?: boolean;
}

/**
 * Declares in one line that a route needs a signed-in caller and which rule it must pass;
 * also documents the accepted credentials and the 401/403 answers in OpenAPI.
 */
export function Authenticated(options: AuthenticatedOptions = {}): MethodDecorator & ClassDecorator {
  const rule = options.policy ?? (options.permission ? can(options.permission) : signedIn);
  const access: RouteAccess = { kind: 'authenticated', policy: rule, orAnonymous: options.anonymous === true };
  return applyDecorators(
    declareOnce(ROUTE_ACCESS, 'access (@Public/@Authenticated)', access),
    documentCredentials(options.permission),
    ApiUnauthorizedResponse({ description: 'No credential, or one that is invalid, expired or revoked' }),
    ApiForbiddenResponse({ description: `Signed in but not allowed: needs ${rule.description}` }),
  );
}

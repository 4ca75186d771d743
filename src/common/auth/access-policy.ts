import type { Request } from 'express';
import type { Permission } from './permission.js';
import type { Principal } from './principal.js';
import type { Role } from './roles.js';

/**
 * A rule about a signed-in principal, as DRF's permission classes are, with `allOf`,
 * `anyOf` and `not` for DRF's `&`, `|` and `~`. `description` is what the route-policy
 * snapshot shows, so a change of rule is visible in review.
 */
export interface AccessPolicy {
  readonly description: string;
  allows(principal: Principal, request: Request): boolean;
}

/** A custom rule: `policy('owner of :id', (p, req) => p.userId === req.params.id)`. */
export function policy(description: string, allows: AccessPolicy['allows']): AccessPolicy {
  return { description, allows };
}

export const signedIn: AccessPolicy = policy('signed in', () => true);

export function can(permission: Permission): AccessPolicy {
  return policy(permission, (principal) => principal.permissions.has(permission));
}

export function hasRole(role: Role): AccessPolicy {
  return policy(`role ${role}`, (principal) => principal.roles.includes(role));
}

export function allOf(...policies: AccessPolicy[]): AccessPolicy {
  return policy(`(${policies.map((p) => p.description).join(' & ')})`, (principal, request) =>
    policies.every((p) => p.allows(principal, request)),
  );
}

export function anyOf(...policies: AccessPolicy[]): AccessPolicy {
  return policy(`(${policies.map((p) => p.description).join(' | ')})`, (principal, request) =>
    policies.some((p) => p.allows(principal, request)),
  );
}

export function not(inner: AccessPolicy): AccessPolicy {
  return policy(`~${inner.description}`, (principal, request) => !inner.allows(principal, request));
}

/** The route's own id is the caller's: `GET /users/:id` for oneself. */
export const isSelf = (param = 'id'): AccessPolicy =>
  policy(`self(:${param})`, (principal, request) => request.params[param] === principal.userId);

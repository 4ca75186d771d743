import type { Request } from 'express';
import { FIRST_PARTY_METHODS } from './credential-kind.js';
import type { Permission } from './permission.js';
import type { Principal } from './principal.js';
import { ROLE_PERMISSIONS, type Role } from './roles.js';

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

/**
 * A credential from signing in: a JWT from login, refresh or MFA verification, or a
 * session. Only such a credential may create, rotate or delete credentials, register OAuth
 * clients, or change the password or email: API keys, personal tokens and OAuth tokens are
 * derived credentials, and a derived credential never mints a broader or longer-lived one.
 */
export const isFirstPartySignIn = (principal: Principal): boolean =>
  principal.scopes === null && FIRST_PARTY_METHODS.has(principal.authMethod);

export const firstPartySignIn: AccessPolicy = policy('first-party sign-in', isFirstPartySignIn);

/**
 * The caller holds `role`. A scoped credential passes only when its scopes cover every
 * permission of the role: a read-only key of an admin is not "an admin".
 */
export function hasRole(role: Role): AccessPolicy {
  return policy(
    `role ${role}`,
    (principal) =>
      principal.roles.includes(role) &&
      (principal.scopes === null || [...ROLE_PERMISSIONS[role]].every((p) => principal.permissions.has(p))),
  );
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

/**
 * The route's own id is the caller's (`GET /users/:id` for oneself). A scoped credential
 * must still carry `permission`, the route's own, in its scopes: a `resources:read` key does
 * not read or edit its owner's account because the account is its owner's.
 */
export const isSelf = (permission: Permission, param = 'id'): AccessPolicy =>
  policy(
    `self(:${param}) with ${permission}`,
    (principal, request) =>
      request.params[param] === principal.userId &&
      (principal.scopes === null || principal.scopes.includes(permission)),
  );

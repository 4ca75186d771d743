import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthMethod } from './credential-kind.js';
import type { Permission } from './permission.js';
import { permissionsOfRoles, type Role } from './roles.js';
import type { SignInProof } from './sign-in-proof.js';

export type { AuthMethod } from './credential-kind.js';

/** Who is calling and what they may do, whatever credential they used. */
export interface Principal {
  userId: string;
  roles: readonly Role[];
  /** What this request may do: the roles' permissions, cut down to the credential's scopes. */
  permissions: ReadonlySet<Permission>;
  authMethod: AuthMethod;
  /** The credential's scopes; null when the credential is not scoped (it carries the user's roles). */
  scopes: readonly Permission[] | null;
  /** Id of the credential used: JWT id, token id, session id or API key id. */
  credentialId: string;
  /** When the credential expires (epoch seconds), where it says so (JWTs). */
  credentialExpiresAt?: number;
  /** How the user signed in for this credential (first-party sign-ins: JWTs and sessions). */
  signIn?: SignInProof;
  /** Requests per minute the credential itself allows (API keys carry their own). */
  credentialRateLimit?: number;
}

/**
 * The one function that says what a credential may do: its owner's role permissions,
 * intersected with its scopes when it has any. Computed from current roles, so demoting a
 * user shrinks every credential they hold at once.
 */
export function effectivePermissions(roles: readonly Role[], scopes: readonly Permission[] | null): Set<Permission> {
  const granted = permissionsOfRoles(roles);
  if (scopes === null) return granted;
  return new Set(scopes.filter((scope) => granted.has(scope)));
}

export function makePrincipal(fields: Omit<Principal, 'permissions'>): Principal {
  return { ...fields, permissions: effectivePermissions(fields.roles, fields.scopes) };
}

/** Handler parameter: the authenticated caller (undefined on a public route called anonymously). */
export const Principal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<Request>().principal,
);

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

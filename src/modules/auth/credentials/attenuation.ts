import { HttpStatus } from '@nestjs/common';
import { isFirstPartySignIn } from '../../../common/auth/access-policy.js';
import type { Permission } from '../../../common/auth/permission.js';
import type { Principal } from '../../../common/auth/principal.js';
import { AppError, ForbiddenError } from '../../../common/errors/app-error.js';

/** A credential someone asks to create: what it may do (null: its owner's roles) and until when. */
export interface RequestedCredential {
  kind: 'personal-token' | 'api-key';
  scopes: readonly Permission[] | null;
}

export type Attenuation = { allowed: true } | { allowed: false; reason: string };

/**
 * The one rule of what a credential may create: never something broader than itself. Only a
 * first-party sign-in (a JWT from signing in, or a session) creates credentials at all; what
 * it creates carries at most the creator's permissions. An unscoped credential (one that
 * carries its owner's roles, as a personal token does) only a first-party sign-in makes,
 * since it is exactly as broad. Routes enforce `firstPartySignIn` before this is reached;
 * services ask this again, so no route can forget it.
 */
export function mayCreate(creator: Principal, requested: RequestedCredential): Attenuation {
  if (!isFirstPartySignIn(creator)) {
    return {
      allowed: false,
      reason: 'Creating credentials needs a first-party sign-in (a JWT from signing in, or a session).',
    };
  }
  if (requested.scopes === null) {
    return requested.kind === 'personal-token'
      ? { allowed: true }
      : { allowed: false, reason: 'This credential must name its scopes.' };
  }
  const beyond = requested.scopes.filter((scope) => !creator.permissions.has(scope));
  return beyond.length === 0
    ? { allowed: true }
    : { allowed: false, reason: `You cannot grant scopes you do not have: ${beyond.join(', ')}.` };
}

/** Throws the 403 when `mayCreate` refuses. */
export function assertMayCreate(creator: Principal, requested: RequestedCredential): void {
  const verdict = mayCreate(creator, requested);
  if (!verdict.allowed) throw new ForbiddenError(verdict.reason);
}

/** The user already holds as many live credentials of this kind as allowed. */
export class CredentialLimitError extends AppError {
  readonly code = 'credential-limit';
  readonly status = HttpStatus.CONFLICT;
  readonly title = 'Too many credentials';
}

import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import { ApiResponse } from '@nestjs/swagger';

export const RECENT_SIGN_IN = 'auth:recent-sign-in';

/** Which requests to a route need a recent sign-in (all, or those that change something sensitive). */
export interface RecentSignInRule {
  readonly description: string;
  applies(request: Request): boolean;
}

/**
 * Marks a sensitive route (RFC 9470 step-up): a first-party caller must have signed in no
 * longer than REAUTH_MAX_AGE ago and, when they hold a second factor, with it. The guard
 * enforces it; `POST /auth/reauthenticate` answers the challenge. `when` narrows it to some
 * requests (a PATCH that changes roles, not one that renames).
 */
export function RequiresRecentSignIn(
  when: RecentSignInRule = { description: 'always', applies: () => true },
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(RECENT_SIGN_IN, when),
    ApiResponse({
      status: 401,
      description:
        'Bearer callers whose sign-in is too old or lacks the second factor: WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=<s>',
    }),
  );
}

export const ALLOWED_BEFORE_MFA_ENROLLMENT = 'auth:allowed-before-mfa-enrollment';

/**
 * One of the few routes a user whose role requires a second factor (MFA_REQUIRED_ROLES) may
 * use before enrolling one: enrolment itself, `GET /me`, signing out.
 */
export const AllowedBeforeMfaEnrollment = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ALLOWED_BEFORE_MFA_ENROLLMENT, true);

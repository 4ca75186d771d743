import { HttpStatus } from '@nestjs/common';
import { AppError, UnauthenticatedError } from '../../../common/errors/app-error.js';

/** Second factors a sign-in may be finished with. */
export type MfaMethod = 'totp' | 'recovery-code' | 'passkey';

/** The password checked out; the sign-in continues with `POST /auth/mfa/verify`. */
export class MfaRequiredError extends AppError {
  readonly code = 'mfa-required';
  readonly status = HttpStatus.FORBIDDEN;
  readonly title = 'A second factor is required';
  constructor(mfaToken: string, methods: MfaMethod[]) {
    super('Finish signing in with POST /api/v1/auth/mfa/verify, within 5 minutes.');
    this.members.mfaToken = mfaToken;
    this.members.methods = methods;
  }
}

/** A wrong, reused or expired mfaToken or code: one answer, so nothing tells which. */
export class InvalidSecondFactorError extends UnauthenticatedError {
  constructor() {
    super('The code or the mfaToken is wrong, used or expired.', 'Bearer realm="api"');
  }
}

/** A code given to confirm or use a factor that is not right. */
export class InvalidCodeError extends AppError {
  readonly code = 'invalid-code';
  readonly status = HttpStatus.BAD_REQUEST;
  readonly title = 'The code is not valid';
}

export class MfaConflictError extends AppError {
  readonly code = 'mfa-conflict';
  readonly status = HttpStatus.CONFLICT;
  readonly title = 'The second factor is not in the state this needs';
}

/** RFC 9470: the bearer caller must sign in again (recently, or with the second factor). */
export class InsufficientUserAuthenticationError extends AppError {
  readonly code = 'insufficient-user-authentication';
  readonly status = HttpStatus.UNAUTHORIZED;
  readonly title = 'A more recent or stronger sign-in is required';
  constructor(detail: string, maxAgeSeconds: number) {
    super(detail);
    this.headers['WWW-Authenticate'] =
      `Bearer realm="api", error="insufficient_user_authentication", error_description="${detail}", max_age=${maxAgeSeconds}`;
  }
}

/** The session's sign-in is too old or lacks the second factor: `POST /auth/reauthenticate`. */
export class ReauthenticationRequiredError extends AppError {
  readonly code = 'reauthentication-required';
  readonly status = HttpStatus.FORBIDDEN;
  readonly title = 'Sign in again to do this';
}

/** The caller's role needs a second factor, and they have none yet: enrol first. */
export class MfaEnrollmentRequiredError extends AppError {
  readonly code = 'mfa-enrollment-required';
  readonly status = HttpStatus.FORBIDDEN;
  readonly title = 'Enrol a second factor first';
}

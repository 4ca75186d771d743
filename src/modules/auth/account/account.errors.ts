import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error.js';

/** Under EMAIL_VERIFICATION=mandatory, a right password for an address not yet proved. */
export class EmailNotVerifiedError extends AppError {
  readonly code = 'email-not-verified';
  readonly status = HttpStatus.FORBIDDEN;
  readonly title = 'Email not verified';
  constructor() {
    super('Confirm your email address first: follow the link in the mail we sent, or ask for a new one.');
  }
}

/** One answer for a mailed token that is unknown, used, expired, superseded or no longer fits. */
export class InvalidAccountTokenError extends AppError {
  readonly code = 'invalid-token';
  readonly status = HttpStatus.BAD_REQUEST;
  readonly title = 'Invalid or expired token';
  constructor() {
    super('The token is unknown, used or expired; ask for a new mail.');
  }
}

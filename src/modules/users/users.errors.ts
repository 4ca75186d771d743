import { HttpStatus } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';

export class EmailTakenError extends AppError {
  readonly code = 'email-taken';
  readonly status = HttpStatus.CONFLICT;
  readonly title = 'Email already registered';
  constructor() {
    super('An account with this email already exists.');
  }
}

export class LastAdminError extends AppError {
  readonly code = 'last-admin';
  readonly status = HttpStatus.CONFLICT;
  readonly title = 'The last admin must stay';
  constructor() {
    super('This change would leave no active admin.');
  }
}

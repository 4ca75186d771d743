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


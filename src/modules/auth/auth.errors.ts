import { UnauthenticatedError } from '../../common/errors/app-error.js';

/** One answer for a wrong email, a wrong password and a disabled account: no enumeration. */
export class InvalidCredentialsError extends UnauthenticatedError {
  constructor() {
    super('The email or password is wrong.', 'Bearer realm="api"');
  }
}

export class InvalidRefreshTokenError extends UnauthenticatedError {
  constructor() {
    super('The refresh token is invalid, expired or revoked.', 'Bearer realm="api", error="invalid_token"');
  }
}

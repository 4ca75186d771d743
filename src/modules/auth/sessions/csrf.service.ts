import { Injectable } from '@nestjs/common';
import { doubleCsrf, type DoubleCsrfUtilities } from 'csrf-csrf';
import type { Request, Response } from 'express';
import { AppConfig } from '../../../config/app-config.js';
import { developmentSecret } from '../../../config/dev-secrets.js';

export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * CSRF protection for cookie sessions: csrf-csrf's signed double submit, bound to the
 * session, so a token from another session (or none) is refused. Bearer, token and key
 * requests carry no ambient credential and need none.
 */
@Injectable()
export class CsrfService {
  private readonly csrf: DoubleCsrfUtilities;

  constructor(config: AppConfig) {
    const secret = config.auth.csrfSecret ?? developmentSecret(config.app.dataDir, 'csrf-secret');
    this.csrf = doubleCsrf({
      getSecret: () => secret,
      getSessionIdentifier: (req) => (req.principal?.authMethod === 'session' ? req.principal.credentialId : ''),
      // __Host- pins the cookie to this host and path /, but needs Secure (https).
      cookieName: config.auth.secureCookies ? '__Host-csrf' : 'csrf',
      cookieOptions: { sameSite: 'lax', secure: config.auth.secureCookies, httpOnly: true, path: '/' },
      getCsrfTokenFromRequest: (req) => req.headers['x-csrf-token'],
    });
  }

  /** Issues a token bound to the request's session (set `req.principal` first) and sets its cookie. */
  issue(req: Request, res: Response): string {
    return this.csrf.generateCsrfToken(req, res, { overwrite: true });
  }

  isValid(req: Request): boolean {
    return this.csrf.validateRequest(req);
  }
}

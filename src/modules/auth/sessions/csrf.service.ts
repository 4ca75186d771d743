import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { doubleCsrf, type DoubleCsrfUtilities } from 'csrf-csrf';
import type { Request, Response } from 'express';
import { AppConfig } from '../../../config/app-config.js';

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
    const secret = config.auth.csrfSecret ?? developmentSecret(config.app.dataDir);
    this.csrf = doubleCsrf({
      getSecret: () => secret,
      getSessionIdentifier: (req) => req.principal?.authMethod === 'session' ? req.principal.credentialId : '',
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

/** Development only: a secret kept under DATA_DIR (or in memory), so restarts keep tokens valid. */
function developmentSecret(dataDir: string | undefined): string {
  if (!dataDir) return randomBytes(32).toString('base64url');
  const path = join(dataDir, 'csrf-secret');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}

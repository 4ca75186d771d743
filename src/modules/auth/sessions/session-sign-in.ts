import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { makePrincipal } from '../../../common/auth/principal.js';
import type { SignInProof } from '../../../common/auth/sign-in-proof.js';
import { AppConfig } from '../../../config/app-config.js';
import type { Account } from '../../users/users.service.js';
import { InvalidCredentialsError } from '../auth.errors.js';
import { originOf } from '../credentials/credential-origin.js';
import { SESSION_COOKIE } from '../credentials.js';
import { CSRF_HEADER, CsrfService } from './csrf.service.js';
import { SessionsService } from './sessions.service.js';

/**
 * Starts the browser session of a sign-in that checked out (POST /session, or its second
 * step through POST /mfa/verify): a new session id (the browser's old one ends), the `sid`
 * cookie, and a CSRF token bound to the new session.
 */
@Injectable()
export class SessionSignIn {
  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly csrf: CsrfService,
  ) {}

  async start(account: Account, proof: SignInProof, req: Request, res: Response): Promise<void> {
    const previousSid: unknown = req.cookies?.[SESSION_COOKIE];
    const started = await this.sessions.start(
      account,
      typeof previousSid === 'string' ? previousSid : undefined,
      originOf(req),
      proof,
    );
    // The account changed between the password check and the issue: nothing is issued.
    if (!started) throw new InvalidCredentialsError();
    res.cookie(SESSION_COOKIE, started.sid, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.auth.secureCookies,
      path: '/',
      maxAge: this.config.auth.sessionAbsoluteSeconds * 1000,
    });
    req.principal = makePrincipal({
      userId: account.id,
      roles: account.roles,
      scopes: null,
      authMethod: 'session',
      credentialId: started.session.id,
      signIn: proof,
    });
    res.setHeader(CSRF_HEADER, this.csrf.issue(req, res));
  }
}

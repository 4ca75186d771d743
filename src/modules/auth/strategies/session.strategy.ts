import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../../common/auth/principal.js';
import { CredentialStrategies } from '../credential-strategies.js';
import { SESSION_COOKIE } from '../credentials.js';
import { SessionsService } from '../sessions/sessions.service.js';

/** Cookie sessions (`sid`); CSRF is checked by the guard once the session is known. */
@Injectable()
export class SessionStrategy extends PassportStrategy(Strategy, 'session-cookie') {
  constructor(
    private readonly sessions: SessionsService,
    strategies: CredentialStrategies,
  ) {
    super();
    strategies.register('session', this);
  }

  async validate(request: Request): Promise<Principal | false> {
    const sid: unknown = request.cookies?.[SESSION_COOKIE];
    if (typeof sid !== 'string' || sid.length > 128) return false;
    return (await this.sessions.authenticate(sid)) ?? false;
  }
}

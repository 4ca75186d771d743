import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../../common/auth/principal.js';
import { CredentialStrategies } from '../credential-strategies.js';
import { PersonalTokensService } from '../tokens/personal-tokens.service.js';

/** `Authorization: Token <token>`, DRF's TokenAuthentication scheme. */
@Injectable()
export class PersonalTokenStrategy extends PassportStrategy(Strategy, 'personal-token') {
  constructor(
    private readonly tokens: PersonalTokensService,
    strategies: CredentialStrategies,
  ) {
    super();
    strategies.register('token', this);
  }

  async validate(request: Request): Promise<Principal | false> {
    const [, token] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
    if (!token) return false;
    return (await this.tokens.authenticate(token)) ?? false;
  }
}

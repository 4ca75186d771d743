import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import type { Principal } from '../../common/auth/principal.js';
import { clientAddress } from '../../common/http/client-address.js';
import { CredentialStrategies } from '../auth/credential-strategies.js';
import { ApiKeysService } from './api-keys.service.js';

/** `X-API-Key: <key>` or `Authorization: Api-Key <key>`, in the same global guard as every credential. */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(
    private readonly keys: ApiKeysService,
    strategies: CredentialStrategies,
  ) {
    super();
    strategies.register('api-key', this);
  }

  async validate(request: Request): Promise<Principal | false> {
    const header = request.headers['x-api-key'];
    const presented =
      typeof header === 'string' ? header : (request.headers.authorization ?? '').trim().split(/\s+/, 2)[1];
    if (!presented || presented.length > 200) return false;
    return (await this.keys.authenticate(presented.trim(), clientAddress(request))) ?? false;
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { JWK } from 'jose';
import { Public } from '../../../common/auth/public.decorator.js';
import { SigningKeysService } from './signing-keys.service.js';

@ApiTags('auth')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  /** The public keys that verify our access tokens; public data, so it may be cached briefly. */
  @Get('jwks.json')
  @ApiOperation({ operationId: 'getJwks', summary: 'Public keys that verify JWT access tokens (JWKS)' })
  @Public()
  @Header('Cache-Control', 'public, max-age=300')
  @ApiOkResponse({ description: 'JSON Web Key Set (RFC 7517)' })
  jwks(): { keys: JWK[] } {
    return this.keys.jwks();
  }
}

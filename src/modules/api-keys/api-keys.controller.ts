import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import type { Request } from 'express';
import { originOf } from '../auth/credentials/credential-origin.js';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { firstPartySignIn } from '../../common/auth/access-policy.js';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import { PageQuery } from '../../common/http/pagination.js';
import { ApiKeysService } from './api-keys.service.js';
import { ApiKeyPage, ApiKeyResponse, CreateApiKeyDto, CreatedApiKeyResponse } from './dto/api-key.dto.js';
import { Audited } from '../../common/audit/audited.decorator.js';
import { RequiresRecentSignIn } from '../../common/auth/step-up.js';

const uuid = new ParseUUIDPipe({ version: '4' });

/**
 * Every signed-in user manages their own keys; api-keys:manage reaches everyone's. Creating,
 * rotating and revoking need a first-party sign-in: a key never mints or ends its siblings.
 */
@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ operationId: 'createApiKey', summary: 'Create an API key (the secret is shown once)' })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('api-key.create')
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiConflictResponse({ description: 'MAX_API_KEYS_PER_USER reached (urn:problem:credential-limit)' })
  create(
    @Principal() me: Principal,
    @Body() body: CreateApiKeyDto,
    @Req() req: Request,
  ): Promise<CreatedApiKeyResponse> {
    return this.keys.create(me, body, originOf(req));
  }

  @Get()
  @ApiOperation({ operationId: 'listApiKeys', summary: 'List API keys' })
  @Authenticated()
  @ApiOkResponse({ type: ApiKeyPage })
  list(@Principal() me: Principal, @Query() query: PageQuery): Promise<ApiKeyPage> {
    return this.keys.list(me, query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getApiKey', summary: 'Get an API key' })
  @Authenticated()
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiNotFoundResponse()
  get(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<ApiKeyResponse> {
    return this.keys.get(me, id);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('api-key.revoke')
  @ApiNoContentResponse({ description: 'Revoked, on every instance at once' })
  revoke(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<void> {
    return this.keys.revoke(me, id);
  }

  @Post(':id/rotate')
  @ApiOperation({ operationId: 'rotateApiKey', summary: 'Rotate an API key: a new secret, the old one revoked' })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('api-key.rotate')
  @ApiCreatedResponse({ type: CreatedApiKeyResponse, description: 'A new secret; the old one is dead' })
  rotate(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<CreatedApiKeyResponse> {
    return this.keys.rotate(me, id);
  }
}

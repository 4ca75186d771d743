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
import { originOf } from '../credentials/credential-origin.js';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { CreatePersonalTokenDto } from './dto/create-personal-token.dto.js';
import { PageQuery } from '../../../common/http/pagination.js';
import { CreatedPersonalTokenResponse, PersonalTokenPage } from './dto/personal-token.response.js';
import { PersonalTokensService } from './personal-tokens.service.js';
import { Audited } from '../../../common/audit/audited.decorator.js';
import { RequiresRecentSignIn } from '../../../common/auth/step-up.js';

@ApiTags('auth')
@Controller('api/v1/auth/tokens')
export class PersonalTokensController {
  constructor(private readonly tokens: PersonalTokensService) {}

  @Post()
  @ApiOperation({ operationId: 'createPersonalToken', summary: 'Create a personal token (shown once)' })
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('personal-token.create')
  @ApiCreatedResponse({ type: CreatedPersonalTokenResponse })
  @ApiConflictResponse({ description: 'MAX_PERSONAL_TOKENS_PER_USER reached (urn:problem:credential-limit)' })
  create(
    @Principal() me: Principal,
    @Body() body: CreatePersonalTokenDto,
    @Req() req: Request,
  ): Promise<CreatedPersonalTokenResponse> {
    return this.tokens.create(me, body, originOf(req));
  }

  @Get()
  @ApiOperation({ operationId: 'listPersonalTokens', summary: 'List your personal tokens' })
  @Authenticated()
  @ApiOkResponse({ type: PersonalTokenPage })
  list(@Principal() me: Principal, @Query() query: PageQuery): Promise<PersonalTokenPage> {
    return this.tokens.list(me.userId, query);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deletePersonalToken', summary: 'Revoke a personal token' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('personal-token.delete')
  @ApiNoContentResponse()
  delete(@Principal() me: Principal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<void> {
    return this.tokens.delete(me.userId, id);
  }
}

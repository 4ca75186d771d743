import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { CreatePersonalTokenDto } from './dto/create-personal-token.dto.js';
import { CreatedPersonalTokenResponse, PersonalTokenResponse } from './dto/personal-token.response.js';
import { PersonalTokensService } from './personal-tokens.service.js';
import { Audited } from '../../../common/audit/audited.decorator.js';

@ApiTags('auth')
@Controller('api/v1/auth/tokens')
export class PersonalTokensController {
  constructor(private readonly tokens: PersonalTokensService) {}

  @Post()
  @Authenticated({ policy: firstPartySignIn })
  @Audited('personal-token.create')
  @ApiCreatedResponse({ type: CreatedPersonalTokenResponse })
  create(@Principal() me: Principal, @Body() body: CreatePersonalTokenDto): Promise<CreatedPersonalTokenResponse> {
    return this.tokens.create(me.userId, body.name, body.expiresInDays);
  }

  @Get()
  @Authenticated()
  @ApiOkResponse({ type: [PersonalTokenResponse] })
  list(@Principal() me: Principal): Promise<PersonalTokenResponse[]> {
    return this.tokens.list(me.userId);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @Audited('personal-token.delete')
  @ApiNoContentResponse()
  delete(@Principal() me: Principal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<void> {
    return this.tokens.delete(me.userId, id);
  }
}

import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Audited } from '../../../common/audit/audited.decorator.js';
import { allOf, can, firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { PageQuery } from '../../../common/http/pagination.js';
import {
  CreatedOAuthClientResponse,
  CreateOAuthClientDto,
  OAuthClientPage,
  OAuthClientResponse,
} from '../dto/oauth-client.dto.js';
import { OAuthClientsService } from './oauth-clients.service.js';
import { RequiresRecentSignIn } from '../../../common/auth/step-up.js';

const uuid = new ParseUUIDPipe({ version: '4' });
/** Registering or deleting a client makes or ends credentials: it needs a first-party sign-in. */
const manageWithSignIn = allOf(firstPartySignIn, can('oauth-clients:manage'));

@ApiTags('oauth-clients')
@Controller('api/v1/oauth-clients')
@Authenticated({ permission: 'oauth-clients:manage' })
export class OAuthClientsController {
  constructor(private readonly clients: OAuthClientsService) {}

  @Post()
  @ApiOperation({
    operationId: 'createOAuthClient',
    summary: 'Register an OAuth client (the secret of a confidential client is shown once)',
  })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ policy: manageWithSignIn })
  @RequiresRecentSignIn()
  @Audited('oauth-client.create')
  @ApiCreatedResponse({ type: CreatedOAuthClientResponse })
  create(@Principal() me: Principal, @Body() body: CreateOAuthClientDto): Promise<CreatedOAuthClientResponse> {
    return this.clients.create(me, body);
  }

  @Get()
  @ApiOperation({ operationId: 'listOAuthClients', summary: 'List OAuth clients' })
  @ApiOkResponse({ type: OAuthClientPage })
  list(@Query() query: PageQuery): Promise<OAuthClientPage> {
    return this.clients.list(query);
  }

  @Get(':clientId')
  @ApiOperation({ operationId: 'getOAuthClient', summary: 'Get an OAuth client' })
  @ApiOkResponse({ type: OAuthClientResponse })
  @ApiNotFoundResponse()
  get(@Param('clientId', uuid) clientId: string): Promise<OAuthClientResponse> {
    return this.clients.get(clientId);
  }

  @Delete(':clientId')
  @ApiOperation({ operationId: 'deleteOAuthClient', summary: 'Delete an OAuth client, ending its grants and tokens' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: manageWithSignIn })
  @RequiresRecentSignIn()
  @Audited('oauth-client.delete')
  @ApiNoContentResponse({ description: 'Deleted; its tokens stop working at once' })
  delete(@Param('clientId', uuid) clientId: string): Promise<void> {
    return this.clients.delete(clientId);
  }
}

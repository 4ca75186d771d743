import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Query,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { anyOf, can, isSelf } from '../../common/auth/access-policy.js';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import { PageQuery } from '../../common/http/pagination.js';
import { UserResponse } from './dto/user.response.js';
import { UpdateUserDto, UserPage } from './dto/users.dto.js';
import { UsersService } from './users.service.js';
import { Audited } from '../../common/audit/audited.decorator.js';
import { RequiresRecentSignIn, type RecentSignInRule } from '../../common/auth/step-up.js';

const uuid = new ParseUUIDPipe({ version: '4' });

/** A role change or a (de)activation is sensitive; renaming oneself is not. */
const changesRolesOrActivation: RecentSignInRule = {
  description: 'when roles or isActive change',
  applies: (request) => {
    const body: unknown = request.body;
    return typeof body === 'object' && body !== null && ('roles' in body || 'isActive' in body);
  },
};

@ApiTags('users')
@Controller('api/v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ operationId: 'listUsers', summary: 'List users' })
  @Authenticated({ permission: 'users:read' })
  @ApiOkResponse({ type: UserPage })
  list(@Query() query: PageQuery): Promise<UserPage> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getUser', summary: 'Get a user (anyone with users:read, or oneself)' })
  @Authenticated({ policy: anyOf(can('users:read'), isSelf('users:read')) })
  @ApiOkResponse({ type: UserResponse })
  @ApiNotFoundResponse()
  get(@Param('id', uuid) id: string): Promise<UserResponse> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateUser', summary: 'Change the profile, roles or status of a user' })
  @Authenticated({ policy: anyOf(can('users:manage'), isSelf('users:manage')) })
  @RequiresRecentSignIn(changesRolesOrActivation)
  @Audited('user.update')
  @ApiOkResponse({ type: UserResponse })
  @ApiConflictResponse({ description: 'The change would leave no active admin' })
  update(
    @Principal() me: Principal,
    @Param('id', uuid) id: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserResponse> {
    return this.users.update(me, id, body);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteUser', summary: 'Delete a user' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ permission: 'users:manage' })
  @RequiresRecentSignIn()
  @Audited('user.delete')
  @ApiNoContentResponse()
  @ApiConflictResponse({ description: 'The last active admin cannot be deleted' })
  delete(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<void> {
    return this.users.delete(me, id);
  }
}

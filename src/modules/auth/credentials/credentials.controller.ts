import { Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Audited } from '../../../common/audit/audited.decorator.js';
import { allOf, can, firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../../common/auth/credential-kind.js';
import { PERMISSIONS, type Permission } from '../../../common/auth/permission.js';
import { Principal } from '../../../common/auth/principal.js';
import { BadRequestError, NotFoundError } from '../../../common/errors/app-error.js';
import { UsersService } from '../../users/users.service.js';
import { AuthService } from '../auth.service.js';
import { CredentialInventory, type HeldCredential } from './credential-inventory.js';
import { RequiresRecentSignIn } from '../../../common/auth/step-up.js';

/** What the `:id` of a credential may look like (UUIDs, and the OAuth server's grant ids). */
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,64}$/;

class CreatedFromResponse {
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
}

export class CredentialResponse {
  @ApiProperty() id: string;
  @ApiProperty({ enum: CREDENTIAL_KINDS }) kind: CredentialKind;
  @ApiProperty({ type: String, nullable: true }) name: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: String, nullable: true }) lastUsedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) expiresAt: string | null;
  @ApiProperty({ enum: PERMISSIONS, isArray: true, nullable: true, description: "null: the owner's roles" })
  scopes: Permission[] | null;
  @ApiProperty({ type: CreatedFromResponse }) createdFrom: CreatedFromResponse;
  @ApiProperty({ description: 'The credential making this request' }) current: boolean;

  static from(held: HeldCredential): CredentialResponse {
    return {
      ...held,
      scopes: held.scopes && [...held.scopes],
      createdAt: held.createdAt.toISOString(),
      lastUsedAt: held.lastUsedAt?.toISOString() ?? null,
      expiresAt: held.expiresAt?.toISOString() ?? null,
    };
  }
}

export class CredentialList {
  @ApiProperty({ type: [CredentialResponse] }) data: CredentialResponse[];
}

function credentialId(id: string): string {
  if (!CREDENTIAL_ID.test(id)) throw new BadRequestError('A credential id is 1 to 64 letters, digits, - or _.');
  return id;
}

/** The caller's own credentials, in one view (knox's devices and allauth's sessions, for every kind). */
@ApiTags('auth')
@Controller('api/v1/auth')
export class CredentialsController {
  constructor(
    private readonly inventory: CredentialInventory,
    private readonly auth: AuthService,
    private readonly users: UsersService,
  ) {}

  @Get('credentials')
  @ApiOperation({ operationId: 'listCredentials', summary: 'List your credentials of every kind' })
  @Authenticated()
  @ApiOkResponse({ type: CredentialList })
  async list(@Principal() me: Principal): Promise<CredentialList> {
    return { data: (await this.inventory.list(me.userId, me)).map(CredentialResponse.from) };
  }

  @Delete('credentials/:id')
  @ApiOperation({ operationId: 'endCredential', summary: 'End one of your credentials' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('credential.end')
  @ApiNoContentResponse({ description: 'Ended, on every instance at once' })
  @ApiNotFoundResponse()
  async end(@Principal() me: Principal, @Param('id') id: string): Promise<void> {
    if (!(await this.inventory.end(me.userId, credentialId(id)))) throw new NotFoundError('No such credential.');
  }

  @Post('sign-out-everywhere')
  @ApiOperation({ operationId: 'signOutEverywhere', summary: 'Sign out everywhere: end every credential but this one' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @Audited('auth.sign-out-everywhere')
  @ApiNoContentResponse({ description: 'Every credential but the one making this request ended' })
  async signOutEverywhere(@Principal() me: Principal): Promise<void> {
    await this.users.signOutEverywhere(me.userId, me.userId, await this.auth.survivingCredential(me));
  }
}

const uuid = new ParseUUIDPipe({ version: '4' });
const manageUsers = allOf(firstPartySignIn, can('users:manage'));

/** An administrator's view of a user's credentials. */
@ApiTags('users')
@Controller('api/v1/users/:id/credentials')
export class UserCredentialsController {
  constructor(
    private readonly inventory: CredentialInventory,
    private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'listUserCredentials', summary: 'List the credentials of a user' })
  @Authenticated({ permission: 'users:manage' })
  @ApiOkResponse({ type: CredentialList })
  async list(@Param('id', uuid) id: string): Promise<CredentialList> {
    if (!(await this.users.findById(id))) throw new NotFoundError('No such user.');
    return { data: (await this.inventory.list(id)).map(CredentialResponse.from) };
  }

  @Delete()
  @ApiOperation({ operationId: 'endUserCredentials', summary: 'End every credential of a user' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: manageUsers })
  @RequiresRecentSignIn()
  @Audited('user.credentials.end')
  @ApiNoContentResponse({ description: 'Every credential of the user ended, on every instance at once' })
  async endAll(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<void> {
    if (!(await this.users.signOutEverywhere(id, me.userId))) throw new NotFoundError('No such user.');
  }
}

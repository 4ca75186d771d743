import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  ApiOperation,
} from '@nestjs/swagger';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { IsObject, IsOptional, IsString, Length } from 'class-validator';
import type { Request } from 'express';
import { firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { Public } from '../../../common/auth/public.decorator.js';
import { AllowedBeforeMfaEnrollment, RequiresRecentSignIn } from '../../../common/auth/step-up.js';
import { ScopedRateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { AuthService } from '../auth.service.js';
import { originOf } from '../credentials/credential-origin.js';
import { TokenPairResponse } from '../dto/auth.dto.js';
import { PasskeysService, type PasskeyView } from './passkeys.service.js';

export class RegisterPasskeyDto {
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiProperty({ description: 'The RegistrationResponseJSON of navigator.credentials.create()' })
  @IsObject()
  response: RegistrationResponseJSON;
}

export class AuthenticatePasskeyDto {
  @ApiProperty({ description: 'The AuthenticationResponseJSON of navigator.credentials.get()' })
  @IsObject()
  response: AuthenticationResponseJSON;
}

export class PasskeyAuthenticationOptionsDto {
  @ApiPropertyOptional({
    description:
      'Accepted and not used: passkeys are discoverable, and naming no account tells nothing about which exist',
  })
  @IsOptional()
  @IsString()
  @Length(1, 254)
  email?: string;
}

/** Passkeys (WebAuthn): registration, listing, deletion, and signing in with one. */
@ApiTags('mfa')
@Controller('api/v1/auth/passkeys')
export class PasskeysController {
  constructor(
    private readonly passkeys: PasskeysService,
    private readonly auth: AuthService,
  ) {}

  @Post('registration/options')
  @ApiOperation({
    operationId: 'createPasskeyRegistrationOptions',
    summary: 'WebAuthn creation options for a new passkey',
  })
  @HttpCode(HttpStatus.OK)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ description: 'PublicKeyCredentialCreationOptionsJSON' })
  registrationOptions(@Principal() me: Principal): Promise<unknown> {
    return this.passkeys.registrationOptions(me);
  }

  @Post('registration')
  @ApiOperation({ operationId: 'registerPasskey', summary: 'Register a passkey from the authenticator response' })
  @HttpCode(HttpStatus.CREATED)
  @ScopedRateLimit('auth')
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @AllowedBeforeMfaEnrollment()
  @ApiCreatedResponse({ description: '{id, name, createdAt}' })
  register(@Principal() me: Principal, @Body() body: RegisterPasskeyDto, @Req() req: Request): Promise<PasskeyView> {
    return this.passkeys.register(me, body, originOf(req));
  }

  @Get()
  @ApiOperation({ operationId: 'listPasskeys', summary: 'Your passkeys' })
  @Authenticated()
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ description: '{data: [{id, name, createdAt, lastUsedAt, backedUp}]}' })
  async list(@Principal() me: Principal): Promise<{ data: PasskeyView[] }> {
    return { data: await this.passkeys.list(me.userId) };
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deletePasskey', summary: 'Delete one of your passkeys' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @ApiNoContentResponse()
  delete(@Principal() me: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    return this.passkeys.delete(me, id);
  }

  @Post('authentication/options')
  @ApiOperation({
    operationId: 'createPasskeyAuthenticationOptions',
    summary: 'WebAuthn request options for signing in with a passkey',
  })
  @HttpCode(HttpStatus.OK)
  @Public()
  @ScopedRateLimit('auth')
  @ApiOkResponse({ description: 'PublicKeyCredentialRequestOptionsJSON' })
  authenticationOptions(@Body() _body: PasskeyAuthenticationOptionsDto): Promise<unknown> {
    return this.passkeys.authenticationOptions();
  }

  /** A user-verifying passkey is a sign-in by itself: a token pair. */
  @Post('authentication')
  @ApiOperation({
    operationId: 'authenticateWithPasskey',
    summary: 'Sign in with a passkey (a user-verifying passkey is a sign-in by itself)',
  })
  @HttpCode(HttpStatus.OK)
  @Public()
  @ScopedRateLimit('auth')
  @ApiOkResponse({ type: TokenPairResponse })
  async authenticate(@Body() body: AuthenticatePasskeyDto, @Req() req: Request): Promise<TokenPairResponse> {
    const { account, proof } = await this.passkeys.authenticate(body.response);
    return this.auth.issuePair(account, originOf(req), proof);
  }
}

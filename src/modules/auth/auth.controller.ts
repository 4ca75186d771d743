import { Body, Controller, Get, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditedInService } from '../../common/audit/audited.decorator.js';
import { firstPartySignIn } from '../../common/auth/access-policy.js';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import { Public } from '../../common/auth/public.decorator.js';
import { AllowedBeforeMfaEnrollment, RequiresRecentSignIn } from '../../common/auth/step-up.js';
import { MfaService } from './mfa/mfa.service.js';
import { clientAddress } from '../../common/http/client-address.js';
import { UnauthenticatedError } from '../../common/errors/app-error.js';
import { ScopedRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { UsersService } from '../users/users.service.js';
import { AuthService } from './auth.service.js';
import { originOf } from './credentials/credential-origin.js';
import { ChangePasswordDto, LoginDto, MeResponse, RefreshDto, TokenPairResponse, VerifyDto } from './dto/auth.dto.js';
import { AccessTokensService, InvalidAccessTokenError } from './jwt/access-tokens.service.js';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly accessTokens: AccessTokensService,
    private readonly mfa: MfaService,
  ) {}

  @Post('login')
  @ApiOperation({
    operationId: 'createTokens',
    summary: 'Sign in with email and password for a JWT access token and a refresh token',
  })
  @AuditedInService('auth.login', 'auth.lockout')
  @HttpCode(HttpStatus.OK)
  @Public()
  @ScopedRateLimit('auth')
  @ApiOkResponse({ type: TokenPairResponse })
  login(@Body() body: LoginDto, @Req() req: Request): Promise<TokenPairResponse> {
    return this.auth.login(body.email, body.password, { ...originOf(req), ip: clientAddress(req) });
  }

  @Post('refresh')
  @ApiOperation({
    operationId: 'refreshTokens',
    summary: 'Trade a refresh token for a new pair (the old one is spent)',
  })
  @AuditedInService('auth.refresh.reuse')
  @HttpCode(HttpStatus.OK)
  @Public()
  @ScopedRateLimit('auth')
  @ApiOkResponse({ type: TokenPairResponse })
  refresh(@Body() body: RefreshDto): Promise<TokenPairResponse> {
    return this.auth.refresh(body.refresh_token);
  }

  /** Possession of the refresh token is the authority; a JWT sent along is revoked too. */
  @Post('logout')
  @ApiOperation({ operationId: 'revokeRefreshToken', summary: 'Sign out: revoke a refresh token and its family' })
  @AuditedInService('auth.logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Public()
  @ApiNoContentResponse()
  logout(@Body() body: RefreshDto, @Principal() caller: Principal | undefined): Promise<void> {
    return this.auth.logout(body.refresh_token, caller);
  }

  @Post('verify')
  @ApiOperation({ operationId: 'verifyToken', summary: 'Check a JWT access token and read its claims' })
  @HttpCode(HttpStatus.OK)
  @Public()
  @ApiOkResponse({ description: '{ active: true, ...claims }' })
  verify(@Body() body: VerifyDto): Record<string, unknown> {
    try {
      return { active: true, ...this.accessTokens.verify(body.token) };
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) {
        throw new UnauthenticatedError(
          'The token is invalid, expired or revoked.',
          'Bearer realm="api", error="invalid_token"',
        );
      }
      throw error;
    }
  }

  @Get('me')
  @ApiOperation({ operationId: 'getCurrentUser', summary: 'Who the credential belongs to, and what it may do' })
  @Authenticated()
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ type: MeResponse })
  async me(@Principal() me: Principal): Promise<MeResponse> {
    const user = await this.users.findById(me.userId);
    if (!user) throw new UnauthenticatedError();
    const mfa = await this.mfa.status(user.id);
    return {
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      emailVerified: user.emailVerifiedAt !== null,
      roles: [...me.roles],
      permissions: [...me.permissions].sort(),
      authMethod: me.authMethod,
      ...(me.signIn ? { authTime: me.signIn.authTime, amr: [...me.signIn.amr] } : {}),
      mfa: {
        totp: mfa.totp,
        recoveryCodesLeft: mfa.recoveryCodesLeft,
        passkeys: mfa.passkeys,
        required: this.mfa.mustHaveSecondFactor(user.roles),
      },
    };
  }

  @Post('password')
  @ApiOperation({ operationId: 'changePassword', summary: 'Change your password, ending every other credential' })
  @AuditedInService('auth.password.change')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ScopedRateLimit('auth')
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @ApiNoContentResponse()
  changePassword(@Principal() me: Principal, @Body() body: ChangePasswordDto, @Req() req: Request): Promise<void> {
    return this.auth.changePassword(me, body, clientAddress(req));
  }
}

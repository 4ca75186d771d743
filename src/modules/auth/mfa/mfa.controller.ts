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
  Req,
  Res,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { allOf, can, firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { Public } from '../../../common/auth/public.decorator.js';
import { AllowedBeforeMfaEnrollment, RequiresRecentSignIn } from '../../../common/auth/step-up.js';
import { BadRequestError } from '../../../common/errors/app-error.js';
import { clientAddress } from '../../../common/http/client-address.js';
import { ScopedRateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { AuthService } from '../auth.service.js';
import { originOf } from '../credentials/credential-origin.js';
import { TokenPairResponse } from '../dto/auth.dto.js';
import { SessionSignIn } from '../sessions/session-sign-in.js';
import {
  MfaStatusResponse,
  MfaVerifyDto,
  ReauthenticateDto,
  RecoveryCodesResponse,
  TotpCodeDto,
  TotpEnrollmentResponse,
} from './dto/mfa.dto.js';
import { MfaSignInService } from './mfa-sign-in.service.js';
import { MfaService, type SecondFactorAnswer } from './mfa.service.js';
import { StepUpService } from './step-up.service.js';
import { RefreshTokensRepository } from '../refresh/refresh-tokens.repository.js';
import { RefreshTokensService } from '../refresh/refresh-tokens.service.js';
import { SessionsService } from '../sessions/sessions.service.js';

/** Exactly one of a TOTP code or a recovery code. */
function answerOf(body: { code?: string; recoveryCode?: string }): SecondFactorAnswer {
  if ((body.code === undefined) === (body.recoveryCode === undefined)) {
    throw new BadRequestError('Send either code or recoveryCode.');
  }
  return body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode };
}

/** Second factors of the caller, the second step of signing in, and step-up. */
@ApiTags('mfa')
@Controller('api/v1/auth')
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly mfaSignIn: MfaSignInService,
    private readonly stepUp: StepUpService,
    private readonly auth: AuthService,
    private readonly sessionSignIn: SessionSignIn,
    private readonly sessions: SessionsService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: RefreshTokensRepository,
  ) {}

  @Get('mfa')
  @ApiOperation({ operationId: 'getMfaStatus', summary: 'Your second factors: TOTP, recovery codes left, passkeys' })
  @Authenticated()
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ type: MfaStatusResponse })
  status(@Principal() me: Principal): Promise<MfaStatusResponse> {
    return this.mfa.status(me.userId);
  }

  @Post('mfa/totp')
  @ApiOperation({
    operationId: 'beginTotpEnrollment',
    summary: 'Start TOTP enrolment: a secret and an otpauth URI (pending until confirmed)',
  })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @AllowedBeforeMfaEnrollment()
  @ApiCreatedResponse({ type: TotpEnrollmentResponse })
  beginTotp(@Principal() me: Principal): Promise<TotpEnrollmentResponse> {
    return this.mfa.beginTotp(me);
  }

  @Post('mfa/totp/confirm')
  @ApiOperation({
    operationId: 'confirmTotpEnrollment',
    summary: 'Confirm TOTP with a first code; answers the recovery codes, shown once',
  })
  @HttpCode(HttpStatus.OK)
  @ScopedRateLimit('auth')
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ type: RecoveryCodesResponse })
  confirmTotp(@Principal() me: Principal, @Body() body: TotpCodeDto): Promise<RecoveryCodesResponse> {
    return this.mfa.confirmTotp(me, body.code);
  }

  @Delete('mfa/totp')
  @ApiOperation({ operationId: 'deleteTotp', summary: 'Remove your TOTP factor' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @ApiNoContentResponse()
  deleteTotp(@Principal() me: Principal): Promise<void> {
    return this.mfa.deleteTotp(me);
  }

  @Post('mfa/recovery-codes')
  @ApiOperation({ operationId: 'regenerateRecoveryCodes', summary: 'A new set of recovery codes (the old set dies)' })
  @HttpCode(HttpStatus.OK)
  @Authenticated({ policy: firstPartySignIn })
  @RequiresRecentSignIn()
  @ApiOkResponse({ type: RecoveryCodesResponse })
  regenerateRecoveryCodes(@Principal() me: Principal): Promise<RecoveryCodesResponse> {
    return this.mfa.regenerateRecoveryCodes(me);
  }

  /**
   * The second step of POST /login (answers a token pair) or POST /session (answers 204 and
   * the session cookie): whichever sign-in the mfaToken continues, and no other.
   */
  @Post('mfa/verify')
  @ApiOperation({
    operationId: 'verifyMfa',
    summary: 'Finish a sign-in that stopped at the password with its mfaToken and a code',
  })
  @HttpCode(HttpStatus.OK)
  @Public()
  @ScopedRateLimit('auth')
  @ApiOkResponse({ type: TokenPairResponse, description: 'A token pair (login), or 204 and the sid cookie (session)' })
  async verify(
    @Body() body: MfaVerifyDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairResponse | undefined> {
    const finished = await this.mfaSignIn.finish(
      body.mfaToken,
      ['login', 'session'],
      answerOf(body),
      clientAddress(req),
    );
    if (finished.purpose === 'login') {
      return this.auth.issuePair(finished.account, originOf(req), finished.proof);
    }
    await this.sessionSignIn.start(finished.account, finished.proof, req, res);
    res.status(HttpStatus.NO_CONTENT);
    return undefined;
  }

  /**
   * RFC 9470 step-up: with the password (or, for a user with a second factor, a code) the
   * caller gets a fresh sign-in: a new token pair whose family replaces the caller's, or the
   * same session with a fresh proof (204).
   */
  @Post('reauthenticate')
  @ApiOperation({
    operationId: 'reauthenticateSignIn',
    summary: 'Step-up: prove your password or a code again for a fresh sign-in',
  })
  @HttpCode(HttpStatus.OK)
  @ScopedRateLimit('auth')
  @Authenticated({ policy: firstPartySignIn })
  @AllowedBeforeMfaEnrollment()
  @ApiOkResponse({ type: TokenPairResponse, description: 'A new token pair (JWT callers), or 204 (sessions)' })
  async reauthenticate(
    @Principal() me: Principal,
    @Body() body: ReauthenticateDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenPairResponse | undefined> {
    const answer = body.code !== undefined || body.recoveryCode !== undefined ? answerOf(body) : {};
    const proof = await this.stepUp.reauthenticate(me, { ...answer, password: body.password }, clientAddress(req));
    if (me.authMethod === 'session') {
      await this.sessions.reauthenticated(me.credentialId, proof);
      res.status(HttpStatus.NO_CONTENT);
      return undefined;
    }
    const account = await this.auth.currentAccount(me);
    const pair = await this.auth.issuePair(account, originOf(req), proof);
    // The new sign-in replaces the one the caller used: its family (and this access token) ends.
    const familyId = await this.families.familyOfAccessToken(me.credentialId);
    if (familyId) await this.refreshTokens.revokeFamily(familyId);
    return pair;
  }
}

/** An administrator's reset of a user's second factors (the user lost them). */
@ApiTags('mfa')
@Controller('api/v1/users')
export class UserMfaController {
  constructor(private readonly mfa: MfaService) {}

  @Delete(':id/mfa')
  @ApiOperation({ operationId: 'resetUserMfa', summary: "Reset a user's second factors (administrators)" })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ policy: allOf(firstPartySignIn, can('users:manage')) })
  @RequiresRecentSignIn()
  @ApiNoContentResponse()
  reset(@Principal() me: Principal, @Param('id', ParseUUIDPipe) id: string): Promise<void> {
    return this.mfa.resetFactors(me, id);
  }
}

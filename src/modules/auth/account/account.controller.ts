import { Body, Controller, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import {
  ApiOperation,
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Audited } from '../../../common/audit/audited.decorator.js';
import { RequiresRecentSignIn } from '../../../common/auth/step-up.js';
import { firstPartySignIn } from '../../../common/auth/access-policy.js';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { Public } from '../../../common/auth/public.decorator.js';
import { clientAddress } from '../../../common/http/client-address.js';
import { UserResponse } from '../../users/dto/user.response.js';
import { ScopedRateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { RegisterDto } from '../dto/register.dto.js';
import { ChangeEmailDto, EmailDto, MailAcceptedResponse, MailedTokenDto, ResetPasswordDto } from './account.dto.js';
import { AccountService, type RegistrationOutcome } from './account.service.js';
import { PasswordResetService } from './password-reset.service.js';

const ACCEPTED: MailAcceptedResponse = { status: 'accepted' };

/** Registration and the account flows that go through mail. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class AccountController {
  constructor(
    private readonly account: AccountService,
    private readonly passwords: PasswordResetService,
  ) {}

  @Post('register')
  @ApiOperation({
    operationId: 'registerAccount',
    summary: 'Register an account (with EMAIL_VERIFICATION=mandatory, a proof is mailed)',
  })
  @Audited('user.register')
  @HttpCode(HttpStatus.CREATED)
  @Public()
  @ScopedRateLimit('auth')
  @ApiAcceptedResponse({
    type: MailAcceptedResponse,
    description: 'EMAIL_VERIFICATION=mandatory, new or taken email alike',
  })
  @ApiCreatedResponse({ type: UserResponse, description: 'EMAIL_VERIFICATION=optional or none' })
  @ApiConflictResponse({ description: 'EMAIL_VERIFICATION=optional or none: the email is taken' })
  async register(@Body() body: RegisterDto, @Res({ passthrough: true }) res: Response): Promise<RegistrationOutcome> {
    const outcome = await this.account.register(body);
    if ('status' in outcome) res.status(HttpStatus.ACCEPTED);
    return outcome;
  }

  @Post('email/verify')
  @ApiOperation({ operationId: 'verifyEmail', summary: 'Prove an email address with the token mailed to it' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Public()
  @ScopedRateLimit('auth')
  @ApiNoContentResponse()
  @ApiBadRequestResponse({ description: 'Unknown, used, expired or superseded token' })
  @ApiConflictResponse({ description: 'An email change whose new address was taken meanwhile' })
  verifyEmail(@Body() body: MailedTokenDto): Promise<void> {
    return this.account.verifyEmail(body.token);
  }

  @Post('email/resend')
  @ApiOperation({
    operationId: 'resendEmailVerification',
    summary: 'Mail the proof of an address again (202 whatever the email)',
  })
  @HttpCode(HttpStatus.ACCEPTED)
  @Public()
  @ScopedRateLimit('auth')
  @ApiAcceptedResponse({ type: MailAcceptedResponse, description: 'Always, whether or not the email has an account' })
  async resendVerification(@Body() body: EmailDto): Promise<MailAcceptedResponse> {
    await this.account.resendVerification(body.email);
    return ACCEPTED;
  }

  @Post('email/change')
  @RequiresRecentSignIn()
  @ApiOperation({
    operationId: 'changeEmail',
    summary: 'Change your email: a proof to the new address, a notice to the old one',
  })
  @HttpCode(HttpStatus.ACCEPTED)
  @ScopedRateLimit('auth')
  @Authenticated({ policy: firstPartySignIn })
  @ApiAcceptedResponse({ type: MailAcceptedResponse, description: 'A proof goes to the new address' })
  async changeEmail(
    @Principal() me: Principal,
    @Body() body: ChangeEmailDto,
    @Req() req: Request,
  ): Promise<MailAcceptedResponse> {
    await this.account.requestEmailChange(me, body.newEmail, body.currentPassword, clientAddress(req));
    return { status: 'verification-sent' };
  }

  @Post('password/forgot')
  @ApiOperation({ operationId: 'requestPasswordReset', summary: 'Mail a password reset link (202 whatever the email)' })
  @HttpCode(HttpStatus.ACCEPTED)
  @Public()
  @ScopedRateLimit('auth')
  @ApiAcceptedResponse({ type: MailAcceptedResponse, description: 'Always, whether or not the email has an account' })
  async forgotPassword(@Body() body: EmailDto): Promise<MailAcceptedResponse> {
    await this.passwords.forgot(body.email);
    return ACCEPTED;
  }

  @Post('password/reset')
  @ApiOperation({
    operationId: 'resetPassword',
    summary: 'Set a new password with a mailed reset token, ending every credential',
  })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Public()
  @ScopedRateLimit('auth')
  @ApiNoContentResponse({ description: 'The password is set and every credential of the account ended' })
  @ApiBadRequestResponse({ description: 'Bad token, or a password the rules refuse' })
  resetPassword(@Body() body: ResetPasswordDto): Promise<void> {
    return this.passwords.reset(body.token, body.newPassword);
  }
}

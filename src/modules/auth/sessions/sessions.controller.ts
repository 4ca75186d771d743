import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { Principal } from '../../../common/auth/principal.js';
import { passwordProof } from '../../../common/auth/sign-in-proof.js';
import { AllowedBeforeMfaEnrollment } from '../../../common/auth/step-up.js';
import { MfaSignInService } from '../mfa/mfa-sign-in.service.js';
import { SessionSignIn } from './session-sign-in.js';
import { Public } from '../../../common/auth/public.decorator.js';
import { clientAddress } from '../../../common/http/client-address.js';
import { ScopedRateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { AuthService } from '../auth.service.js';
import { SESSION_COOKIE } from '../credentials.js';
import { CsrfTokenResponse, LoginDto } from '../dto/auth.dto.js';
import { CSRF_HEADER, CsrfService } from './csrf.service.js';
import { ReplacesStaleSession } from './replaces-stale-session.decorator.js';
import { SessionsService } from './sessions.service.js';
import { Audited, AuditedInService } from '../../../common/audit/audited.decorator.js';

/** Cookie sessions for browser clients: sign in, sign out, CSRF tokens. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class SessionsController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly csrf: CsrfService,
    private readonly mfaSignIn: MfaSignInService,
    private readonly sessionSignIn: SessionSignIn,
  ) {}

  @Post('session')
  @ApiOperation({ operationId: 'createSession', summary: 'Sign in with email and password for a session cookie' })
  @AuditedInService('auth.login', 'auth.lockout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Public()
  @ReplacesStaleSession()
  @ScopedRateLimit('auth')
  @ApiNoContentResponse({ description: `Sets the sid cookie; the ${CSRF_HEADER} response header carries a CSRF token` })
  async signIn(@Body() body: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const user = await this.auth.checkPassword(body.email, body.password, clientAddress(req));
    // A user with a second factor gets the mfa-required answer; POST /mfa/verify starts the session.
    await this.mfaSignIn.requireSecondStep(user, 'session');
    await this.sessionSignIn.start(user, passwordProof(), req, res);
  }

  @Delete('session')
  @ApiOperation({ operationId: 'deleteSession', summary: 'Sign out of the session' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated()
  @AllowedBeforeMfaEnrollment()
  @Audited('auth.session.end')
  @ApiNoContentResponse()
  async signOut(@Principal() me: Principal, @Res({ passthrough: true }) res: Response): Promise<void> {
    if (me.authMethod === 'session') await this.sessions.end(me.credentialId);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  @Get('csrf')
  @ApiOperation({ operationId: 'getCsrfToken', summary: 'Get the CSRF token for unsafe requests of the session' })
  @Public()
  @ReplacesStaleSession()
  @ApiOkResponse({ type: CsrfTokenResponse })
  issueCsrfToken(@Req() req: Request, @Res({ passthrough: true }) res: Response): CsrfTokenResponse {
    return { csrfToken: this.csrf.issue(req, res) };
  }
}

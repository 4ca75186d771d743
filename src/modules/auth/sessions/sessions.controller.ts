import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Authenticated } from '../../../common/auth/authenticated.decorator.js';
import { makePrincipal, Principal } from '../../../common/auth/principal.js';
import { Public } from '../../../common/auth/public.decorator.js';
import { clientAddress } from '../../../common/http/client-address.js';
import { AppConfig } from '../../../config/app-config.js';
import { ScopedRateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { InvalidCredentialsError } from '../auth.errors.js';
import { AuthService } from '../auth.service.js';
import { originOf } from '../credentials/credential-origin.js';
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
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly csrf: CsrfService,
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
    const previousSid: unknown = req.cookies?.[SESSION_COOKIE];
    const started = await this.sessions.start(
      user,
      typeof previousSid === 'string' ? previousSid : undefined,
      originOf(req),
    );
    // The account changed between the password check and the issue: nothing is issued.
    if (!started) throw new InvalidCredentialsError();
    const { sid, session } = started;
    res.cookie(SESSION_COOKIE, sid, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.auth.secureCookies,
      path: '/',
      maxAge: this.config.auth.sessionAbsoluteSeconds * 1000,
    });
    // The CSRF token is bound to the new session.
    req.principal = makePrincipal({
      userId: user.id,
      roles: user.roles,
      scopes: null,
      authMethod: 'session',
      credentialId: session.id,
    });
    res.setHeader(CSRF_HEADER, this.csrf.issue(req, res));
  }

  @Delete('session')
  @ApiOperation({ operationId: 'deleteSession', summary: 'Sign out of the session' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated()
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

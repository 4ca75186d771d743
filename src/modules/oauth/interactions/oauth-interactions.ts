import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { doubleCsrf, type DoubleCsrfUtilities } from 'csrf-csrf';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { normalizeEmail } from '../../../common/auth/normalize-email.js';
import { passwordProof } from '../../../common/auth/sign-in-proof.js';
import { AppError } from '../../../common/errors/app-error.js';
import { clientAddress } from '../../../common/http/client-address.js';
import { AppConfig } from '../../../config/app-config.js';
import { developmentSecret } from '../../../config/dev-secrets.js';
import { AuthService } from '../../auth/auth.service.js';
import { MfaSignInService } from '../../auth/mfa/mfa-sign-in.service.js';
import { MfaRequiredError } from '../../auth/mfa/mfa.errors.js';
import { isAcceptableParameter } from '../oauth-parameters.js';
import { OAuthProviderService } from '../oauth-provider.service.js';
import { OAuthPages } from './oauth-pages.js';

type Interaction = Awaited<ReturnType<OAuthProviderService['provider']['interactionDetails']>>;

/**
 * The sign-in and consent pages of the authorization server (its interaction URL), served
 * by Express ahead of Nest as the provider itself is. Forms carry a csrf-csrf double-submit
 * token bound to the interaction; sign-in goes through AuthService.checkPassword, so the
 * lockout and audit of every other password path apply, and a user with a second factor is
 * asked for it on a page of its own (MfaSignInService, as every other sign-in path).
 */
@Injectable()
export class OAuthInteractions {
  private readonly csrf: DoubleCsrfUtilities;

  constructor(
    config: AppConfig,
    private readonly oauth: OAuthProviderService,
    private readonly auth: AuthService,
    private readonly mfaSignIn: MfaSignInService,
    private readonly pages: OAuthPages,
    private readonly events: EventEmitter2,
    @InjectPinoLogger(OAuthInteractions.name) private readonly logger: PinoLogger,
  ) {
    const secret = config.auth.csrfSecret ?? developmentSecret(config.app.dataDir, 'csrf-secret');
    this.csrf = doubleCsrf({
      getSecret: () => secret,
      getSessionIdentifier: (req) => `oauth-interaction:${String(req.params.uid ?? '')}`,
      cookieName: config.auth.secureCookies ? '__Secure-oauth-csrf' : 'oauth-csrf',
      cookieOptions: { sameSite: 'lax', secure: config.auth.secureCookies, httpOnly: true, path: '/oauth/interaction' },
      getCsrfTokenFromRequest: (req) => {
        const token = (req.body as Record<string, unknown> | undefined)?.csrf;
        return typeof token === 'string' ? token : undefined;
      },
    });
  }

  router(): Router {
    const router = Router();
    const parse = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
    // The parameters of these forms get the same check as the provider's (NUL would reach Postgres).
    const checked = (req: Request, res: Response, next: NextFunction) => {
      const values = Object.entries((req.body ?? {}) as Record<string, string | string[]>).flat(2);
      if (values.every(isAcceptableParameter)) return next();
      this.html(
        res,
        undefined,
        400,
        this.pages.error('This form cannot be used', 'It contains text that is not valid.'),
      );
    };
    const form = [parse, checked];
    router.get(
      '/:uid',
      this.handle((req, res) => this.show(req, res)),
    );
    router.post(
      '/:uid/login',
      form,
      this.handle((req, res) => this.login(req, res)),
    );
    router.post(
      '/:uid/mfa',
      form,
      this.handle((req, res) => this.secondFactor(req, res)),
    );
    router.post(
      '/:uid/confirm',
      form,
      this.handle((req, res) => this.confirm(req, res)),
    );
    router.post(
      '/:uid/abort',
      form,
      this.handle((req, res) => this.abort(req, res)),
    );
    return router;
  }

  private async show(req: Request, res: Response): Promise<void> {
    const interaction = await this.details(req, res);
    const csrf = this.csrf.generateCsrfToken(req, res, { overwrite: true });
    const clientName = await this.clientName(interaction);
    if (interaction.prompt.name === 'login') {
      this.html(res, interaction, 200, this.pages.login({ uid: interaction.uid, csrf, clientName }));
    } else {
      const scopes = String(interaction.params.scope ?? '')
        .split(' ')
        .filter(Boolean);
      this.html(res, interaction, 200, this.pages.consent({ uid: interaction.uid, csrf, clientName, scopes }));
    }
  }

  private async login(req: Request, res: Response): Promise<void> {
    const interaction = await this.details(req, res);
    if (!this.checkCsrf(req, res, interaction) || !this.checkPrompt(res, interaction, 'login')) return;
    const body = req.body as Record<string, unknown>;
    // Spelled as /api/v1/auth/login spells it, so both count failures against one account.
    const email = typeof body.email === 'string' ? normalizeEmail(body.email.slice(0, 320)) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    try {
      const user = await this.auth.checkPassword(email, password, clientAddress(req));
      // A user with a second factor is asked for it on the next page; nothing is finished here.
      await this.mfaSignIn.requireSecondStep(user, 'oauth');
      const proof = passwordProof();
      await this.oauth.provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.id, amr: [...proof.amr], ts: proof.authTime } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error instanceof MfaRequiredError) {
        await this.showSecondFactor(req, res, interaction, String(error.members.mfaToken));
        return;
      }
      for (const [name, value] of Object.entries(error.headers)) {
        if (name !== 'WWW-Authenticate') res.setHeader(name, value);
      }
      const csrf = this.csrf.generateCsrfToken(req, res, { overwrite: true });
      const page = this.pages.login({
        uid: interaction.uid,
        csrf,
        clientName: await this.clientName(interaction),
        email,
        error: error.detail ?? error.title,
      });
      this.html(res, interaction, error.status, page);
    }
  }

  /** The second step: only an mfaToken issued by this page's password step finishes it. */
  private async secondFactor(req: Request, res: Response): Promise<void> {
    const interaction = await this.details(req, res);
    if (!this.checkCsrf(req, res, interaction) || !this.checkPrompt(res, interaction, 'login')) return;
    const body = req.body as Record<string, unknown>;
    const mfaToken = typeof body.mfaToken === 'string' ? body.mfaToken.slice(0, 100) : '';
    const code = typeof body.code === 'string' && body.code !== '' ? body.code.slice(0, 10) : undefined;
    const recoveryCode =
      code === undefined && typeof body.recoveryCode === 'string' ? body.recoveryCode.slice(0, 40) : undefined;
    try {
      const finished = await this.mfaSignIn.finish(mfaToken, ['oauth'], { code, recoveryCode }, clientAddress(req));
      await this.oauth.provider.interactionFinished(
        req,
        res,
        { login: { accountId: finished.account.id, amr: [...finished.proof.amr], ts: finished.proof.authTime } },
        { mergeWithLastSubmission: false },
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      for (const [name, value] of Object.entries(error.headers)) {
        if (name !== 'WWW-Authenticate') res.setHeader(name, value);
      }
      await this.showSecondFactor(req, res, interaction, mfaToken, error.detail ?? error.title, error.status);
    }
  }

  private async showSecondFactor(
    req: Request,
    res: Response,
    interaction: Interaction,
    mfaToken: string,
    error?: string,
    status = 200,
  ): Promise<void> {
    const csrf = this.csrf.generateCsrfToken(req, res, { overwrite: true });
    const clientName = await this.clientName(interaction);
    this.html(
      res,
      interaction,
      status,
      this.pages.secondFactor({ uid: interaction.uid, csrf, clientName, mfaToken, error }),
    );
  }

  private async confirm(req: Request, res: Response): Promise<void> {
    const interaction = await this.details(req, res);
    if (!this.checkCsrf(req, res, interaction) || !this.checkPrompt(res, interaction, 'consent')) return;
    const { provider } = this.oauth;
    const accountId = interaction.session?.accountId;
    const clientId = String(interaction.params.client_id);
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId, clientId });
    if (!grant) throw new Error('the grant of this interaction is gone');
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await this.audit({ action: 'oauth.consent', outcome: 'success', actorId: accountId, target: clientId });
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  private async abort(req: Request, res: Response): Promise<void> {
    const interaction = await this.details(req, res);
    if (!this.checkCsrf(req, res, interaction)) return;
    await this.audit({
      action: 'oauth.consent',
      outcome: 'denied',
      actorId: interaction.session?.accountId ?? null,
      target: String(interaction.params.client_id),
    });
    await this.oauth.provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request' },
      { mergeWithLastSubmission: false },
    );
  }

  /** The interaction of this browser (its cookie) and this uid; anything else is refused by the provider. */
  private async details(req: Request, res: Response): Promise<Interaction> {
    const interaction = await this.oauth.provider.interactionDetails(req, res);
    if (interaction.uid !== req.params.uid) throw new InteractionMismatch();
    return interaction;
  }

  private checkCsrf(req: Request, res: Response, interaction: Interaction): boolean {
    if (this.csrf.validateRequest(req)) return true;
    this.html(res, interaction, 403, this.pages.error('The form expired', 'Go back to the application and try again.'));
    return false;
  }

  /**
   * A form of another step than the one pending (the consent form posted while sign-in is
   * due, a sign-in form posted again after it): refused at once, pointing back to the page
   * of the step that is pending, rather than left without an answer.
   */
  private checkPrompt(res: Response, interaction: Interaction, expected: 'login' | 'consent'): boolean {
    if (interaction.prompt.name === expected) return true;
    const pending = interaction.prompt.name === 'login' ? 'signing in' : 'allowing or denying access';
    this.html(
      res,
      interaction,
      400,
      this.pages.error(
        'This form is out of step',
        `The next step is ${pending}: reload the page and go on from there.`,
      ),
    );
    return false;
  }

  private async clientName(interaction: Interaction): Promise<string> {
    const client = await this.oauth.provider.Client.find(String(interaction.params.client_id));
    return client?.clientName ?? 'an application';
  }

  /**
   * HTML under a CSP of its own: no script or style at all, forms post to us only, and
   * (because browsers apply form-action to the redirects a form submission follows) to the
   * client's redirect URI, where a finished interaction ends up.
   */
  private html(res: Response, interaction: Interaction | undefined, status: number, body: string): void {
    const redirect = interaction ? originOf(interaction.params.redirect_uri) : undefined;
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; form-action 'self'${redirect ? ` ${redirect}` : ''}; frame-ancestors 'none'; base-uri 'none'`,
    );
    res.status(status).type('html').send(body);
  }

  private handle(run: (req: Request, res: Response) => Promise<void>) {
    return (req: Request, res: Response, next: NextFunction) => {
      run(req, res).catch((error: unknown) => {
        if (res.headersSent) return next(error);
        const name = error instanceof Error ? error.name : 'Error';
        if (name === 'SessionNotFound' || error instanceof InteractionMismatch) {
          this.html(
            res,
            undefined,
            400,
            this.pages.error('This sign-in expired', 'Go back to the application and start again.'),
          );
          return;
        }
        this.logger.error({ err: error }, 'oauth interaction failed');
        this.html(res, undefined, 500, this.pages.error('Something went wrong', 'Try again later.'));
      });
    };
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

class InteractionMismatch extends Error {}

function originOf(value: unknown): string | undefined {
  try {
    return typeof value === 'string' ? new URL(value).origin : undefined;
  } catch {
    return undefined;
  }
}

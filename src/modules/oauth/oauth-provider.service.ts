import { timingSafeEqual } from 'node:crypto';
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { RequestHandler } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import Provider from 'oidc-provider';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { AppConfig } from '../../config/app-config.js';
import { SigningKeysService } from '../auth/jwt/signing-keys.service.js';
import { UsersService } from '../users/users.service.js';
import { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { hashClientSecret } from './clients/oauth-clients.service.js';
import { OAuthPages } from './interactions/oauth-pages.js';
import { TypeOrmOAuthAdapter } from './oauth.adapter.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';
import { auditProviderEvents } from './provider-audit.js';
import { providerConfiguration } from './provider-configuration.js';

/**
 * The OAuth 2.0 authorization server: oidc-provider (a Koa app) mounted by app.factory.ts at
 * /oauth ahead of Nest's body parsers. It is built once every module has started (the
 * signing keys are loaded by then); requests before that get 503.
 */
@Injectable()
export class OAuthProviderService implements OnApplicationBootstrap {
  private built: { provider: Provider; handle: ReturnType<Provider['callback']> } | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly signingKeys: SigningKeysService,
    private readonly models: OAuthModelsRepository,
    private readonly clients: OAuthClientsRepository,
    private readonly users: UsersService,
    private readonly pages: OAuthPages,
    private readonly events: EventEmitter2,
    @InjectPinoLogger(OAuthProviderService.name) private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    const provider = new Provider(
      this.config.oauth.issuer,
      providerConfiguration(this.config, {
        adapter: (model) =>
          new TypeOrmOAuthAdapter(model, this.models, this.clients, (grantId) => this.revokeGrant(grantId)),
        jwks: { keys: this.signingKeys.privateJwks() },
        accountIsActive: async (id) => (await this.users.findById(id))?.isActive === true,
        pages: this.pages,
      }),
    );
    // Koa reads X-Forwarded-Proto/Host only when told; Express's TRUST_PROXY decides who may set them.
    provider.proxy = this.config.http.trustProxy !== false;
    this.pinOrigin(provider);
    hashClientSecrets(provider);
    auditProviderEvents(provider, (record) => this.audit(record));
    provider.on('server_error', (_ctx: unknown, error: Error) =>
      this.logger.error({ err: error }, 'oauth server error'),
    );
    this.built = { provider, handle: provider.callback() };
  }

  get provider(): Provider {
    if (!this.built) throw new Error('The OAuth provider is not started yet');
    return this.built.provider;
  }

  /** Express middleware for the /oauth mount. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      if (!this.built) {
        res.status(503).json({ error: 'temporarily_unavailable' });
        return;
      }
      this.built.handle(req, res).catch(next);
    };
  }

  /**
   * oidc-provider builds every URL it hands out (discovery, redirects) from the request's
   * host; only the configured public origin is accepted, so a forged Host cannot steer them.
   */
  private pinOrigin(provider: Provider): void {
    const expected = new URL(this.config.app.publicUrl).origin;
    provider.use(async (ctx, next) => {
      // Not ctx.origin: the provider's context leaves it unset.
      if (`${ctx.protocol}://${ctx.host}` !== expected) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: 'unexpected host' };
        return;
      }
      await next();
    });
  }

  /** As the provider revokes a grant on reuse: every row of it gone, and `grant.revoked` audited. */
  private async revokeGrant(grantId: string): Promise<void> {
    await this.models.deleteGrant(grantId);
    const ctx = Provider.ctx;
    if (ctx) this.provider.emit('grant.revoked', ctx, grantId);
  }

  private audit(record: AuditRecord): void {
    this.events.emitAsync(AUDIT_RECORD, record).catch((error: unknown) => {
      this.logger.error({ err: error }, 'could not record an OAuth audit event');
    });
  }
}

/**
 * oidc-provider compares client secrets in plain text; we store only their SHA-256 (as the
 * Client model's `client_secret`), so the presented secret is hashed before the constant-time
 * comparison. This covers every endpoint that authenticates clients (token, introspection,
 * revocation) whatever the auth method carries the secret.
 */
function hashClientSecrets(provider: Provider): void {
  provider.Client.prototype.compareClientSecret = function compare(this: { clientSecret?: string }, presented) {
    const stored = Buffer.from(this.clientSecret ?? '', 'utf8');
    const given = Buffer.from(hashClientSecret(String(presented)), 'utf8');
    return stored.length === given.length && timingSafeEqual(stored, given);
  };
}

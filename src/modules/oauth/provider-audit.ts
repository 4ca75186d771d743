import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { AuditRecord } from '../../common/audit/audit-record.js';

interface IssuedToken {
  accountId?: string;
  clientId?: string;
  grantId?: string;
}

interface ProviderError {
  error?: string;
  statusCode?: number;
}

/**
 * The provider's events as audit records: grants that succeeded or failed, tokens issued
 * and revoked, refused authorizations. Token values are never recorded (an opaque token's
 * id is the token).
 */
export function auditProviderEvents(provider: Provider, emit: (record: AuditRecord) => void): void {
  // The typings list only some of the provider's events; these names are its documented ones.
  const on = provider.on.bind(provider) as (event: string, listener: (...args: never[]) => void) => unknown;
  const clientOf = (ctx: KoaContextWithOIDC) => ctx.oidc?.client?.clientId ?? null;
  const grantTypeOf = (ctx: KoaContextWithOIDC) => ctx.oidc?.params?.grant_type ?? null;
  on('grant.success', (ctx: KoaContextWithOIDC) =>
    emit({
      action: 'oauth.grant',
      outcome: 'success',
      status: 200,
      target: clientOf(ctx),
      details: { grantType: grantTypeOf(ctx), clientId: clientOf(ctx) },
    }),
  );
  for (const [event, action] of [
    ['grant.error', 'oauth.grant'],
    ['authorization.error', 'oauth.authorize'],
    ['introspection.error', 'oauth.introspect'],
    ['revocation.error', 'oauth.revoke'],
  ] as const) {
    on(event, (ctx: KoaContextWithOIDC, error: ProviderError) =>
      emit({
        action,
        outcome: 'failure',
        security: true,
        status: error.statusCode ?? 400,
        target: clientOf(ctx),
        details: { grantType: grantTypeOf(ctx), clientId: clientOf(ctx), error: error.error ?? 'server_error' },
      }),
    );
  }
  for (const [event, kind] of [
    ['access_token.issued', 'access_token'],
    ['client_credentials.issued', 'client_credentials'],
    ['refresh_token.saved', 'refresh_token'],
  ] as const) {
    on(event, (token: IssuedToken) =>
      emit({
        action: 'oauth.token.issue',
        outcome: 'success',
        actorId: token.accountId ?? null,
        target: token.clientId ?? null,
        details: { kind, clientId: token.clientId ?? null, grantId: token.grantId ?? null },
      }),
    );
  }
  // Refresh token or code reuse, revocation of a refresh token: the whole grant goes.
  on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) =>
    emit({
      action: 'oauth.grant.revoke',
      outcome: 'success',
      security: true,
      target: clientOf(ctx),
      details: { grantId, clientId: clientOf(ctx), route: ctx.oidc?.route ?? null },
    }),
  );
  provider.use(async (ctx, next) => {
    await next();
    const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
    if (oidc?.route === 'revocation' && ctx.status === 200) {
      emit({
        action: 'oauth.token.revoke',
        outcome: 'success',
        status: 200,
        target: oidc.client?.clientId ?? null,
        details: { clientId: oidc.client?.clientId ?? null },
      });
    }
  });
}

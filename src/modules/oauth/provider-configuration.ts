import { errors, type Adapter, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { DPOP_SIGNING_ALGS } from '../../common/auth/dpop.js';
import { PERMISSIONS } from '../../common/auth/permission.js';
import type { AppConfig } from '../../config/app-config.js';
import { developmentSecret } from '../../config/dev-secrets.js';
import type { OAuthPages } from './interactions/oauth-pages.js';

export interface ProviderDependencies {
  adapter: (model: string) => Adapter;
  /** Private signing keys, newest first (shared with the JWT issuer). */
  jwks: Configuration['jwks'];
  /** Whether the account may still be issued tokens (exists and is active). */
  accountIsActive: (accountId: string) => Promise<boolean>;
  pages: OAuthPages;
}

/**
 * oidc-provider's configuration: OAuth 2.0 only (code with PKCE S256, refresh with rotation,
 * client credentials), opaque access tokens for one resource server (this API) so that
 * introspection and revocation work, and nothing that would need a plain client secret.
 */
export function providerConfiguration(config: AppConfig, deps: ProviderDependencies): Configuration {
  const { oauth, auth } = config;
  const cookieKeys = oauth.cookieKeys ?? [developmentSecret(config.app.dataDir, 'oauth-cookie-key')];
  const cookie = { signed: true, httpOnly: true, sameSite: 'lax' as const, secure: auth.secureCookies };
  return {
    // Must stay a plain function: oidc-provider refuses async factories.
    adapter: deps.adapter,
    clients: [],
    // Confidential clients authenticate with HTTP Basic (their secret is hashed before the
    // comparison); public clients with none, which PKCE makes safe.
    clientAuthMethods: ['client_secret_basic', 'none'],
    cookies: { keys: cookieKeys, long: cookie, short: cookie },
    jwks: deps.jwks,
    // Our keys are ES256 (shared with the JWT issuer); the RS256 default has no key here.
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: [...PERMISSIONS],
    responseTypes: ['code'],
    // v9 implements only S256 (plain is refused outright); required for every client, not only public ones.
    pkce: { required: () => true },
    // redirect_uri must always be sent, and is compared exactly with a registered one.
    allowOmittingSingleRegisteredRedirectUri: false,
    enabledJWA: { dPoPSigningAlgValues: [...DPOP_SIGNING_ALGS] },
    features: {
      devInteractions: { enabled: false },
      // Sender-constrained tokens (RFC 9449): the API accepts a bound token only with a proof.
      dPoP: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client learns only about its own tokens, and only when it authenticated.
        allowedPolicy: async (_ctx: KoaContextWithOIDC, client, token) =>
          client.clientAuthMethod !== 'none' && token.clientId === client.clientId,
      },
      // A client revokes only its own tokens (RFC 7009 section 2.1).
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => auth.audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator, client) => {
          if (indicator !== auth.audience) throw new errors.InvalidTarget();
          return {
            // What this client may be granted at all: the scopes it was registered with.
            scope: client.scope ?? '',
            audience: auth.audience,
            accessTokenTTL: oauth.accessTtlSeconds,
            // JWT access tokens could be neither introspected nor revoked.
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    // A client allowed refresh_token gets one with every code, without asking for offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Every refresh rotates; presenting a rotated one again revokes the whole grant.
    rotateRefreshToken: true,
    // Tokens outlive the sign-in session at the authorization server; they have their own TTLs.
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: oauth.accessTtlSeconds,
      ClientCredentials: oauth.accessTtlSeconds,
      AuthorizationCode: oauth.codeTtlSeconds,
      RefreshToken: oauth.refreshTtlSeconds,
      Grant: oauth.refreshTtlSeconds,
      IdToken: oauth.accessTtlSeconds,
      Interaction: 10 * 60,
      Session: auth.sessionIdleSeconds,
    },
    interactions: { url: async (_ctx, interaction) => `/oauth/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) =>
      (await deps.accountIsActive(sub)) ? { accountId: sub, claims: () => ({ sub }) } : undefined,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = deps.pages.error(String(out.error), String(out.error_description ?? ''));
    },
  };
}

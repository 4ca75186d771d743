import {
  errors,
  type AccessToken,
  type Adapter,
  type ClientCredentials,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { DPOP_SIGNING_ALGS } from '../../common/auth/dpop.js';
import { PERMISSIONS } from '../../common/auth/permission.js';
import type { AppConfig } from '../../config/app-config.js';
import { developmentSecret } from '../../config/dev-secrets.js';
import { OPENID } from './clients/client-metadata.js';
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
    // ID tokens are RS256 (OpenID Connect Core section 3.1.3.7), signed with the key set's RS256
    // key and verified with the published JWKS. Clients are registered through our API, which
    // takes no id_token_signed_response_alg, so no other algorithm is offered.
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
      dPoPSigningAlgValues: [...DPOP_SIGNING_ALGS],
    },
    scopes: [...PERMISSIONS],
    // Every ID token says when and how the user signed in (OIDC auth_time, RFC 8176 amr), as
    // first-party tokens do: both are claims of the openid scope, not only on request. The
    // rest is oidc-provider's default.
    claims: { openid: ['sub', 'auth_time', 'amr'], acr: null, sid: null, iss: null },
    responseTypes: ['code'],
    // v9 implements only S256 (plain is refused outright); required for every client, not only public ones.
    pkce: { required: () => true },
    // redirect_uri must always be sent, and is compared exactly with a registered one.
    allowOmittingSingleRegisteredRedirectUri: false,
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
        // The API, unless the request is for an ID token alone: then the access token is the
        // OpenID one, for userinfo (a token for the API cannot call userinfo, and the reverse).
        defaultResource: async (ctx) => (onlyOpenId(ctx) ? undefined : auth.audience),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator, client) => {
          if (indicator !== auth.audience) throw new errors.InvalidTarget();
          const registered = (client.scope ?? '').split(' ').filter((scope) => scope !== OPENID);
          refuseScopesBeyond(ctx, new Set([...registered, OPENID]));
          return {
            // What this client may be granted at all: the permissions it was registered with.
            scope: registered.join(' '),
            audience: auth.audience,
            accessTokenTTL: oauth.accessTtlSeconds,
            // JWT access tokens could be neither introspected nor revoked.
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => signInClaims(ctx, token),
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

/**
 * A requested scope the client may not have is refused (`invalid_scope`), never dropped in
 * silence: the provider refuses only the scopes it knows of, and an unknown one would
 * leave the client with less than it asked and no sign of it (RFC 6749 section 3.3).
 */
function refuseScopesBeyond(ctx: KoaContextWithOIDC, allowed: Set<string>): void {
  const requested = ctx.oidc.params?.scope;
  if (typeof requested !== 'string') return;
  const beyond = requested.split(' ').filter((scope) => scope !== '' && !allowed.has(scope));
  if (beyond.length > 0) throw new errors.InvalidScope('requested scope is not allowed', beyond.join(' '));
}

/**
 * When and how the user signed in, for an access token (RFC 9470 section 6: a resource
 * server judges the sign-in from the introspection response). Opaque tokens keep these claims
 * and introspection answers them. The code or refresh token being redeemed carries the sign-in
 * (a refresh carries it forward: refreshing is not signing in); a client-credentials token has
 * no user and gets none.
 */
function signInClaims(
  ctx: KoaContextWithOIDC,
  token: AccessToken | ClientCredentials,
): { auth_time: number; amr?: string[] } | undefined {
  if (token.kind !== 'AccessToken') return undefined;
  const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
  if (source?.authTime === undefined) return undefined;
  return { auth_time: source.authTime, ...(source.amr ? { amr: source.amr } : {}) };
}

/** An authorization or token request whose scopes are all OpenID Connect ones. */
function onlyOpenId(ctx: KoaContextWithOIDC): boolean {
  const requested = ctx.oidc.params?.scope;
  return typeof requested === 'string' && requested.split(' ').every((scope) => scope === OPENID);
}

import type { ClientMetadata } from 'oidc-provider';
import type { OAuthClient } from './oauth-client.entity.js';

export const OPENID = 'openid';

/**
 * A stored client as oidc-provider's Client model reads it. `client_secret` is the stored
 * SHA-256, never the secret: the provider's secret comparison is replaced to hash what the
 * client presents (see oauth-provider.service.ts), and no symmetric algorithm that would
 * need the plain secret (client_secret_jwt, HS* signing) is enabled.
 */
export function clientMetadata(client: OAuthClient): ClientMetadata {
  const codeFlow = client.grantTypes.includes('authorization_code');
  return {
    client_id: client.clientId,
    client_name: client.name,
    ...(client.secretHash ? { client_secret: client.secretHash } : {}),
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: codeFlow ? ['code'] : [],
    token_endpoint_auth_method: client.isPublic ? 'none' : 'client_secret_basic',
    // `openid` is no permission but the OpenID Connect protocol scope: any code-flow client may ask for an ID token.
    scope: [...client.scopes, ...(codeFlow ? [OPENID] : [])].join(' '),
  };
}

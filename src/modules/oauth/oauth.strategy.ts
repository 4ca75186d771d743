import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { hashOpaqueToken } from '../../common/auth/opaque-token.js';
import { isPermission } from '../../common/auth/permission.js';
import { makePrincipal, type Principal } from '../../common/auth/principal.js';
import { AppConfig } from '../../config/app-config.js';
import { CredentialStrategies } from '../auth/credential-strategies.js';
import { RevocationService } from '../auth/revocation/revocation.service.js';
import { UsersService } from '../users/users.service.js';
import { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { DpopProofs } from './dpop/dpop-proofs.js';
import { OAuthProviderService } from './oauth-provider.service.js';

interface OpaqueToken {
  jti: string;
  accountId?: string;
  clientId?: string;
  grantId?: string;
  scope?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
  /** The thumbprint of the key a DPoP-bound token is bound to (its `cnf.jkt`). */
  jkt?: string;
}

/**
 * `Authorization: Bearer <opaque token>` issued by our authorization server, or
 * `Authorization: DPoP <token>` with its proof for a token bound to a key. The provider's
 * own models look the token up (an unknown, expired, revoked or consumed one is not found);
 * the principal then comes from today's user: roles from the database, cut down to the
 * token's scopes. A client-credentials token acts for the user who registered the client.
 */
@Injectable()
export class OAuthStrategy extends PassportStrategy(Strategy, 'oauth') {
  constructor(
    private readonly config: AppConfig,
    private readonly oauth: OAuthProviderService,
    private readonly clients: OAuthClientsRepository,
    private readonly users: UsersService,
    private readonly revocation: RevocationService,
    private readonly proofs: DpopProofs,
    strategies: CredentialStrategies,
  ) {
    super();
    strategies.register('oauth', this);
  }

  async validate(request: Request): Promise<Principal | false> {
    const [scheme = '', presented] = (request.headers.authorization ?? '').trim().split(/\s+/, 2);
    // Opaque tokens are 43 characters; anything far off is not worth a lookup.
    if (!presented || presented.length > 200) return false;
    const { provider } = this.oauth;
    const userToken = (await provider.AccessToken.find(presented)) as OpaqueToken | undefined;
    const serviceToken = userToken
      ? undefined
      : ((await provider.ClientCredentials.find(presented)) as OpaqueToken | undefined);
    const token = userToken ?? serviceToken;
    if (!token || !(await this.presentedAsBound(token, scheme, presented, request))) return false;
    return (await (userToken ? this.forUser(token) : this.forClient(token))) ?? false;
  }

  /**
   * A token bound to a key is accepted only under the DPoP scheme with a valid proof by that
   * key (RFC 9449 section 7.2: never as Bearer, or a stolen token would work without the
   * key); an unbound token only as Bearer.
   */
  private async presentedAsBound(
    token: OpaqueToken,
    scheme: string,
    presented: string,
    request: Request,
  ): Promise<boolean> {
    const asDpop = scheme.toLowerCase() === 'dpop';
    if (!token.jkt) return !asDpop;
    return asDpop && (await this.proofs.verify(request, presented, token.jkt));
  }

  private async forUser(token: OpaqueToken): Promise<Principal | undefined> {
    if (!this.forThisApi(token) || !token.accountId || !token.grantId) return undefined;
    // Revoking a refresh token or replaying a code removes the grant with its tokens.
    if (!(await this.oauth.provider.Grant.find(token.grantId))) return undefined;
    return this.principal(token.accountId, token);
  }

  private async forClient(token: OpaqueToken): Promise<Principal | undefined> {
    if (!this.forThisApi(token) || !token.clientId) return undefined;
    const client = await this.clients.findById(token.clientId);
    if (!client) return undefined;
    // Exactly the granted scopes, and never beyond what the client was registered with.
    const registered = new Set<string>(client.scopes);
    return this.principal(client.userId, token, (scope) => registered.has(scope));
  }

  private async principal(
    userId: string,
    token: OpaqueToken,
    allowed: (scope: string) => boolean = () => true,
  ): Promise<Principal | undefined> {
    const user = await this.users.findById(userId);
    if (!user?.isActive) return undefined;
    // Password change, deactivation and role changes cut off every token issued before them.
    if (this.revocation.isIssuedBeforeCutoff(user.id, token.iat ?? 0)) return undefined;
    const scopes = (token.scope ?? '').split(' ').filter(isPermission).filter(allowed);
    return makePrincipal({
      userId: user.id,
      roles: user.roles,
      authMethod: 'oauth',
      scopes,
      // An opaque token's id is the token itself: audit and logs get a digest of it instead.
      credentialId: hashOpaqueToken(token.jti).toString('hex').slice(0, 32),
      credentialExpiresAt: token.exp,
    });
  }

  private forThisApi(token: OpaqueToken): boolean {
    const audiences = Array.isArray(token.aud) ? token.aud : [token.aud];
    return audiences.includes(this.config.auth.audience);
  }
}

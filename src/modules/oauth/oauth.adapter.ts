import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { clientMetadata } from './clients/client-metadata.js';
import type { OAuthModelsRepository } from './oauth-models.repository.js';
import { isAcceptableParameter } from './oauth-parameters.js';

/**
 * oidc-provider's persistence contract over Postgres. Every model shares `oauth_models`;
 * the Client model alone reads `oauth_clients`, which the clients API owns (dynamic
 * registration is off, so the provider never writes clients).
 */
export class TypeOrmOAuthAdapter implements Adapter {
  constructor(
    private readonly model: string,
    private readonly models: OAuthModelsRepository,
    private readonly clients: OAuthClientsRepository,
    /** Ends a grant whose code or refresh token was presented twice at the same time. */
    private readonly revokeGrant: (grantId: string) => Promise<void>,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') throw new Error('OAuth clients are registered through /api/v1/oauth-clients');
    if (this.model === 'ReplayDetection') {
      // A DPoP proof's jti at the token endpoint: recorded once, atomically, or refused as a replay.
      const first = await this.models.insertOnce(this.model, id, payload as Record<string, unknown>, expiresIn ?? 60);
      if (!first) throw new errors.InvalidDpopProof('DPoP proof JWT Replay detected');
      return;
    }
    await this.models.upsert(this.model, id, payload as Record<string, unknown>, expiresIn);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    // Ids also come from headers (a client id in HTTP Basic), which no parameter check saw.
    if (!isAcceptableParameter(id)) return undefined;
    if (this.model === 'Client') {
      const client = await this.clients.findById(id);
      return client ? clientMetadata(client) : undefined;
    }
    return (await this.models.find(this.model, { id })) as AdapterPayload | undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!isAcceptableParameter(uid)) return undefined;
    return (await this.models.find(this.model, { uid })) as AdapterPayload | undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!isAcceptableParameter(userCode)) return undefined;
    return (await this.models.find(this.model, { userCode })) as AdapterPayload | undefined;
  }

  /**
   * The provider checks `consumed` on the row it read, then calls this: only the request
   * whose compare-and-set wins goes on to issue tokens. A loser is a second redemption,
   * refused like one (and its grant revoked, as the provider does for sequential reuse).
   */
  async consume(id: string): Promise<void> {
    const outcome = await this.models.consume(this.model, id);
    if (outcome.won) return;
    if (this.model === 'PushedAuthorizationRequest') {
      throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
    }
    if (outcome.grantId) await this.revokeGrant(outcome.grantId);
    throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
  }

  async destroy(id: string): Promise<void> {
    await this.models.destroy(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.models.revokeByGrantId(this.model, grantId);
  }
}

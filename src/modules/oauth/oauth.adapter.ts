import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { clientMetadata } from './clients/client-metadata.js';
import type { OAuthModelsRepository } from './oauth-models.repository.js';

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
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    if (this.model === 'Client') throw new Error('OAuth clients are registered through /api/v1/oauth-clients');
    await this.models.upsert(this.model, id, payload as Record<string, unknown>, expiresIn);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.model === 'Client') {
      const client = await this.clients.findById(id);
      return client ? clientMetadata(client) : undefined;
    }
    return (await this.models.find(this.model, { id })) as AdapterPayload | undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return (await this.models.find(this.model, { uid })) as AdapterPayload | undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return (await this.models.find(this.model, { userCode })) as AdapterPayload | undefined;
  }

  async consume(id: string): Promise<void> {
    await this.models.consume(this.model, id);
  }

  async destroy(id: string): Promise<void> {
    await this.models.destroy(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.models.revokeByGrantId(this.model, grantId);
  }
}

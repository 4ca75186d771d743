import { Injectable } from '@nestjs/common';
import { isPermission, type Permission } from '../../common/auth/permission.js';
import { CredentialInventory } from '../auth/credentials/credential-inventory.js';
import { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';

/** What oidc-provider keeps in a Grant: the client, and the scopes allowed per resource. */
interface GrantPayload {
  clientId?: string;
  iat?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

const GRANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A user's OAuth grants (one per client they allowed) in the credential inventory. */
@Injectable()
export class OAuthGrantCredentialSource {
  constructor(inventory: CredentialInventory, models: OAuthModelsRepository, clients: OAuthClientsRepository) {
    inventory.register({
      kind: 'oauth-grant',
      list: async (userId) =>
        Promise.all(
          (await models.grantsOfAccount(userId)).map(async (row) => {
            const grant = row.payload as GrantPayload;
            const client = grant.clientId ? await clients.findById(grant.clientId) : null;
            const granted = Object.values(grant.resources ?? {})
              .join(' ')
              .split(' ');
            return {
              id: row.id,
              kind: 'oauth-grant' as const,
              name: client?.name ?? grant.clientId ?? null,
              createdAt: new Date((grant.iat ?? 0) * 1000),
              lastUsedAt: null,
              expiresAt: row.expiresAt,
              scopes: [...new Set(granted.filter(isPermission))] as Permission[],
              createdFrom: { ip: null, userAgent: null },
              current: false,
            };
          }),
        ),
      end: async (userId, id) => GRANT_ID.test(id) && models.deleteGrantOfAccount(userId, id),
    });
  }
}

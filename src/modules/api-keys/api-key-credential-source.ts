import { Injectable } from '@nestjs/common';
import { CredentialInventory } from '../auth/credentials/credential-inventory.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** API keys in the credential inventory. */
@Injectable()
export class ApiKeyCredentialSource {
  constructor(inventory: CredentialInventory, keys: ApiKeysRepository, service: ApiKeysService) {
    inventory.register({
      kind: 'api-key',
      list: async (userId, caller) =>
        (await keys.liveOfUser(userId)).map((k) => ({
          id: k.id,
          kind: 'api-key',
          name: k.name,
          createdAt: k.createdAt,
          lastUsedAt: k.lastUsedAt,
          expiresAt: k.expiresAt,
          scopes: k.scopes,
          createdFrom: { ip: k.createdIp, userAgent: k.createdUserAgent },
          current: caller?.authMethod === 'api-key' && caller.credentialId === k.id,
        })),
      end: async (userId, id) => UUID.test(id) && service.revokeOwn(userId, id),
    });
  }
}

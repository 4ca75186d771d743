import { Injectable } from '@nestjs/common';
import { RefreshTokensRepository } from '../refresh/refresh-tokens.repository.js';
import { RefreshTokensService } from '../refresh/refresh-tokens.service.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { PersonalTokensRepository } from '../tokens/personal-tokens.repository.js';
import { PersonalTokensService } from '../tokens/personal-tokens.service.js';
import { PasskeysRepository } from '../mfa/passkeys.repository.js';
import { PasskeysService } from '../mfa/passkeys.service.js';
import { CredentialInventory } from './credential-inventory.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The auth module's credentials in the inventory: sessions, sign-ins (refresh families), personal tokens. */
@Injectable()
export class AuthCredentialSources {
  constructor(
    inventory: CredentialInventory,
    sessions: SessionsRepository,
    families: RefreshTokensRepository,
    refreshTokens: RefreshTokensService,
    personalTokens: PersonalTokensRepository,
    personalTokenRules: PersonalTokensService,
    passkeys: PasskeysRepository,
    passkeyRules: PasskeysService,
  ) {
    inventory.register({
      kind: 'session',
      list: async (userId, caller) =>
        (await sessions.liveOfUser(userId)).map((s) => ({
          id: s.id,
          kind: 'session',
          name: null,
          createdAt: s.createdAt,
          lastUsedAt: s.lastSeenAt,
          expiresAt: s.expiresAt,
          scopes: null,
          createdFrom: { ip: s.createdIp, userAgent: s.createdUserAgent },
          current: caller?.authMethod === 'session' && caller.credentialId === s.id,
        })),
      end: async (userId, id) => UUID.test(id) && sessions.deleteOfUser(userId, id),
    });
    inventory.register({
      kind: 'refresh-family',
      list: async (userId, caller) =>
        (await families.liveFamilies(userId)).map((f) => ({
          id: f.familyId,
          kind: 'refresh-family',
          name: null,
          createdAt: f.createdAt,
          lastUsedAt: f.lastUsedAt,
          expiresAt: f.expiresAt,
          scopes: null,
          createdFrom: { ip: f.createdIp, userAgent: f.createdUserAgent },
          current: caller?.authMethod === 'jwt' && f.accessJtis.includes(caller.credentialId),
        })),
      end: async (userId, id) => {
        if (!UUID.test(id) || !(await families.liveFamilies(userId)).some((f) => f.familyId === id)) return false;
        await refreshTokens.revokeFamily(id);
        return true;
      },
    });
    inventory.register({
      kind: 'personal-token',
      list: async (userId, caller) =>
        (await personalTokens.listOfUser(userId))
          .filter((t) => !t.expiresAt || t.expiresAt.getTime() > Date.now())
          .map((t) => ({
            id: t.id,
            kind: 'personal-token',
            name: t.name,
            createdAt: t.createdAt,
            lastUsedAt: t.lastUsedAt,
            expiresAt: t.expiresAt,
            scopes: null,
            createdFrom: { ip: t.createdIp, userAgent: t.createdUserAgent },
            current: caller?.authMethod === 'token' && caller.credentialId === t.id,
          })),
      end: async (userId, id) => UUID.test(id) && personalTokenRules.deleteOwn(userId, id),
    });
    inventory.register({
      kind: 'passkey',
      list: async (userId) =>
        (await passkeys.listOfUser(userId)).map((p) => ({
          id: p.id,
          kind: 'passkey',
          name: p.name,
          createdAt: p.createdAt,
          lastUsedAt: p.lastUsedAt,
          expiresAt: null,
          scopes: null,
          createdFrom: { ip: p.createdIp, userAgent: p.createdUserAgent },
          current: false,
        })),
      end: async (userId, id) => UUID.test(id) && passkeyRules.deleteOfUser(userId, id),
    });
  }
}

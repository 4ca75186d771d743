import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { RevocationService } from '../auth/revocation/revocation.service.js';
import { USER_EVENTS, type UserChangedEvent } from '../users/users.events.js';
import { ApiKeysService } from './api-keys.service.js';

const inTransaction = { promisify: true, suppressErrors: false } as const;

/**
 * API keys end with the account change that ends them, in its transaction: revoked, not
 * suspended, so reactivating an account brings none back. A deleted user's keys go with the
 * row (foreign-key cascade); the user's cut-off drops them from every cache.
 */
@Injectable()
export class ApiKeyLifecycleListener {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly revocation: RevocationService,
  ) {}

  @OnEvent(USER_EVENTS.passwordChanged, inTransaction)
  @OnEvent(USER_EVENTS.deactivated, inTransaction)
  @OnEvent(USER_EVENTS.signedOutEverywhere, inTransaction)
  async revokeKeys(event: UserChangedEvent): Promise<void> {
    if (event.keepApiKeys) return;
    const revoked = await event.inTransaction((manager) => this.keys.revokeAllOfUser(manager, event.userId));
    event.afterCommit.push(() => this.revocation.publish(revoked));
  }
}

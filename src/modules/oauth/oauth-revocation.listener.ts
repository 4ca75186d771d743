import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { USER_EVENTS, type UserChangedEvent } from '../users/users.events.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';

const inTransaction = { promisify: true, suppressErrors: false } as const;

/**
 * OAuth grants end with the account's other credentials, in the transaction of the change.
 * The access-token cutoff already stops a user's OAuth access tokens, but a refresh token
 * would mint new ones after a password change, or after an account is reactivated; so the
 * grants, with every token, code and sign-in session of the user, are deleted, and so are
 * the client-credentials tokens of the clients the user registered (they act as the user).
 */
@Injectable()
export class OAuthRevocationListener {
  constructor(private readonly models: OAuthModelsRepository) {}

  @OnEvent(USER_EVENTS.passwordChanged, inTransaction)
  @OnEvent(USER_EVENTS.deactivated, inTransaction)
  @OnEvent(USER_EVENTS.signedOutEverywhere, inTransaction)
  async onCredentialsEnded(event: UserChangedEvent): Promise<void> {
    await event.inTransaction(async (manager) => {
      await this.models.deleteAllOfAccount(manager, event.userId);
      await this.models.deleteServiceTokensOfOwner(manager, event.userId);
    });
  }

  /** A deleted user's clients are gone too (cascade): so are the tokens they issued, to anyone. */
  @OnEvent(USER_EVENTS.deleted, inTransaction)
  async onDeleted(event: UserChangedEvent): Promise<void> {
    await event.inTransaction(async (manager) => {
      await this.models.deleteAllOfAccount(manager, event.userId);
      await this.models.deleteAllOfRemovedClients(manager);
    });
  }
}

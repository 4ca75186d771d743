import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { USER_EVENTS, type UserChangedEvent } from '../users/users.events.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';

/**
 * OAuth grants end with the account's other credentials. The access-token cutoff already
 * stops a user's OAuth access tokens, but a refresh token would mint new ones after a
 * password change, or after an account is reactivated; so the grants, with every token,
 * code and sign-in session of the user, are deleted.
 */
@Injectable()
export class OAuthRevocationListener {
  constructor(private readonly models: OAuthModelsRepository) {}

  @OnEvent(USER_EVENTS.passwordChanged, { promisify: true, suppressErrors: false })
  @OnEvent(USER_EVENTS.deactivated, { promisify: true, suppressErrors: false })
  async onCredentialsRevoked(event: UserChangedEvent): Promise<void> {
    await this.models.deleteAllOfAccount(event.userId);
  }

  /** A deleted user's clients are gone too: so are the tokens they issued, to anyone. */
  @OnEvent(USER_EVENTS.deleted, { promisify: true, suppressErrors: false })
  async onDeleted(event: UserChangedEvent): Promise<void> {
    await this.models.deleteAllOfAccount(event.userId);
    await this.models.deleteAllOfRemovedClients();
  }
}

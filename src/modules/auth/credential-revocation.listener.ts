import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { USER_EVENTS, type UserChangedEvent } from '../users/users.events.js';
import { AuthService } from './auth.service.js';
import { RevocationService } from './revocation/revocation.service.js';

/** Keeps credentials in step with the account: what the users module changes, auth enforces. */
@Injectable()
export class CredentialRevocationListener {
  constructor(
    private readonly auth: AuthService,
    private readonly revocation: RevocationService,
  ) {}

  @OnEvent(USER_EVENTS.deactivated, { promisify: true, suppressErrors: false })
  async onDeactivated(event: UserChangedEvent): Promise<void> {
    await this.auth.revokeAllCredentials(event.userId);
  }

  /** JWTs carry roles: they die and are refreshed with the new ones. Other credentials read roles live. */
  @OnEvent(USER_EVENTS.rolesChanged, { promisify: true, suppressErrors: false })
  async onRolesChanged(event: UserChangedEvent): Promise<void> {
    await this.revocation.revokeUserTokens(event.userId);
  }

  @OnEvent(USER_EVENTS.deleted, { promisify: true, suppressErrors: false })
  async onDeleted(event: UserChangedEvent): Promise<void> {
    await this.revocation.revokeUserTokens(event.userId);
  }
}

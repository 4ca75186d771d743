import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { USER_EVENTS, type UserChangedEvent } from '../../users/users.events.js';
import { RefreshTokensRepository } from '../refresh/refresh-tokens.repository.js';
import type { RevocationEvent } from '../revocation/revocation-event.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { PersonalTokensRepository } from '../tokens/personal-tokens.repository.js';

const inTransaction = { promisify: true, suppressErrors: false } as const;

/**
 * Ends the auth module's credentials in the transaction of the account change that ends
 * them (see USER_EVENTS): sessions, refresh families with their access tokens, personal
 * tokens (each revoked by name, which drops it from every instance's cache). The
 * revocations commit with the change; the broadcast follows the commit.
 */
@Injectable()
export class CredentialLifecycleListener {
  constructor(
    private readonly revocation: RevocationService,
    private readonly families: RefreshTokensRepository,
    private readonly sessions: SessionsRepository,
    private readonly personalTokens: PersonalTokensRepository,
  ) {}

  /**
   * Everything ends; access tokens by a cut-off (any token of the user issued before now),
   * which also reaches the OAuth access tokens of the user and of their clients.
   */
  @OnEvent(USER_EVENTS.passwordChanged, inTransaction)
  @OnEvent(USER_EVENTS.deactivated, inTransaction)
  @OnEvent(USER_EVENTS.deleted, inTransaction)
  async endAll(event: UserChangedEvent): Promise<void> {
    const { personalTokens } = await this.endStored(event);
    await this.revoke(event, [this.revocation.userTokens(event.userId), ...personalTokens]);
  }

  /**
   * Everything but the caller's own sign-in ends. No cut-off (it would end the caller's
   * access token too): the other families' access tokens are revoked one by one.
   */
  @OnEvent(USER_EVENTS.signedOutEverywhere, inTransaction)
  async endAllButCaller(event: UserChangedEvent): Promise<void> {
    const { accessTokens, personalTokens } = await this.endStored(event);
    await this.revoke(event, [
      ...accessTokens.map((t) => this.revocation.accessToken(t.jti, t.userId, t.expiresAtSeconds)),
      ...personalTokens,
    ]);
  }

  /** JWTs carry roles: they die and are refreshed with the new ones. Other credentials read roles live. */
  @OnEvent(USER_EVENTS.rolesChanged, inTransaction)
  async endAccessTokens(event: UserChangedEvent): Promise<void> {
    await this.revoke(event, [this.revocation.userTokens(event.userId)]);
  }

  /** Ends the stored credentials; what is left to revoke: the families' access tokens, the personal tokens. */
  private endStored(event: UserChangedEvent) {
    const { userId, keep } = event;
    return event.inTransaction(async (manager) => {
      await this.sessions.endAllOfUser(manager, userId, keep?.kind === 'session' ? keep.id : undefined);
      const tokenIds = await this.personalTokens.deleteAllOfUser(manager, userId);
      const accessTokens = await this.families.revokeAllOfUser(
        manager,
        userId,
        keep?.kind === 'refresh-family' ? keep.id : undefined,
      );
      return {
        accessTokens,
        personalTokens: tokenIds.map((id) => this.revocation.credential('personal-token', id, userId)),
      };
    });
  }

  private async revoke(event: UserChangedEvent, revoked: RevocationEvent[]): Promise<void> {
    const recorded = await event.inTransaction((manager) => this.revocation.record(manager, revoked));
    event.afterCommit.push(() => this.revocation.publish(recorded));
  }
}

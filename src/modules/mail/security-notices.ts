import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { USER_EVENTS, type UserChangedEvent } from '../users/users.events.js';
import { UserAccounts } from '../users/user-accounts.js';
import { UsersService } from '../users/users.service.js';
import { MailOutbox } from './mail-outbox.js';

/**
 * What other modules announce so the user hears of it by mail: `events.emitAsync(
 * SECURITY_NOTICE, notice)` after the change committed. The MFA work emits the factor
 * notices (templates `mfa-factor-added` and `mfa-factor-removed` are ready).
 */
export const SECURITY_NOTICE = 'security.notice';

export type SecurityNotice =
  | { userId: string; kind: 'api-key-created' | 'personal-token-created'; name: string }
  | { userId: string; kind: 'mfa-factor-added' | 'mfa-factor-removed'; factor: string };

/**
 * Queues the notices the contract lists for changes made outside the account flows (those
 * queue theirs in their own transaction): a password change or reset (in the transaction of
 * the change), a new API key or personal token, a second factor added or removed.
 */
@Injectable()
export class SecurityNoticesListener {
  constructor(
    private readonly users: UsersService,
    private readonly accounts: UserAccounts,
    private readonly outbox: MailOutbox,
  ) {}

  @OnEvent(USER_EVENTS.passwordChanged, { promisify: true, suppressErrors: false })
  async onPasswordChanged(event: UserChangedEvent): Promise<void> {
    await event.inTransaction(async (manager) => {
      const user = await this.accounts.findById(manager, event.userId);
      if (!user) return;
      await this.outbox.enqueue(manager, {
        template: 'password-changed',
        to: user.email,
        values: { displayName: user.displayName },
      });
    });
    event.afterCommit.push(async () => this.outbox.wake());
  }

  @OnEvent(SECURITY_NOTICE, { promisify: true, suppressErrors: false })
  async onNotice(notice: SecurityNotice): Promise<void> {
    const user = await this.users.findById(notice.userId);
    if (!user) return;
    const displayName = user.displayName;
    switch (notice.kind) {
      case 'api-key-created':
      case 'personal-token-created':
        return this.outbox.enqueueNow({
          template: notice.kind,
          to: user.email,
          values: { displayName, name: notice.name },
        });
      case 'mfa-factor-added':
      case 'mfa-factor-removed':
        return this.outbox.enqueueNow({
          template: notice.kind,
          to: user.email,
          values: { displayName, factor: notice.factor },
        });
    }
  }
}

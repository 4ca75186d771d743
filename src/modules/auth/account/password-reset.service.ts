import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { MailOutbox, type QueuedMail } from '../../mail/mail-outbox.js';
import { UserAccounts } from '../../users/user-accounts.js';
import { UsersService } from '../../users/users.service.js';
import { AccountTokens } from './account-tokens.js';
import { InvalidAccountTokenError } from './account.errors.js';

const PASSWORD_RESET = 'password-reset';

/**
 * Forgot password (OWASP Forgot Password cheat sheet): the request answers 202 and queues
 * an intent whatever the email, and the outbox worker mails a reset link only to an active
 * account; the link is single use, lives 30 minutes, and dies with any change of the
 * password (the credentials epoch) or of the email. Using it goes through
 * UsersService.resetPassword: the password changes and every credential ends, API keys
 * included, in one transaction with the use of the link.
 */
@Injectable()
export class PasswordResetService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly accounts: UserAccounts,
    private readonly users: UsersService,
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly events: EventEmitter2,
  ) {}

  onModuleInit(): void {
    this.outbox.handleIntent(PASSWORD_RESET, (manager, values) => this.prepare(manager, values));
  }

  async forgot(email: string): Promise<void> {
    await this.audit({ action: 'auth.password.forgot', outcome: 'success', target: email, status: 202 });
    if (!(await this.outbox.mayMail(email))) return;
    await this.dataSource.transaction((manager) => this.outbox.enqueueIntent(manager, PASSWORD_RESET, { email }));
    this.outbox.wake();
  }

  async reset(token: string, newPassword: string): Promise<void> {
    // Whose password rules apply; the link is used only in the transaction of the change.
    const pending = await this.tokens.peek(this.dataSource.manager, token, ['reset-password']);
    const reset =
      pending !== null &&
      (await this.users.resetPassword(pending.userId, newPassword, async (manager, account) => {
        const used = await this.tokens.redeem(manager, token, ['reset-password']);
        return (
          used !== null &&
          used.userId === account.id &&
          account.isActive &&
          used.email === account.email &&
          used.credentialsEpoch === account.credentialsEpoch
        );
      }));
    if (!reset) {
      await this.audit({ action: 'auth.password.reset', outcome: 'failure', security: true, status: 400 });
      throw new InvalidAccountTokenError();
    }
    await this.audit({
      action: 'auth.password.reset',
      outcome: 'success',
      security: true,
      actorId: pending.userId,
      target: pending.userId,
      status: 204,
    });
  }

  private async prepare(manager: EntityManager, values: Record<string, string>): Promise<QueuedMail | null> {
    const user = await this.accounts.findByEmail(manager, String(values.email));
    if (!user?.isActive) return null;
    const token = await this.tokens.issue(manager, user, 'reset-password', user.email);
    return { template: 'password-reset', to: user.email, values: { displayName: user.displayName, token } };
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

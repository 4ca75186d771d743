import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { MailOutbox, type QueuedMail } from '../../mail/mail-outbox.js';
import { UserAccounts } from '../../users/user-accounts.js';
import { USER_EVENTS, type UserChangedEvent } from '../../users/users.events.js';
import { UsersService } from '../../users/users.service.js';
import { AuthService } from '../auth.service.js';
import { AccountTokens, passwordDigest } from './account-tokens.js';
import { InvalidAccountTokenError } from './account.errors.js';

const PASSWORD_RESET = 'password-reset';

/**
 * Forgot password (OWASP Forgot Password cheat sheet): the request answers 202 and queues
 * an intent whatever the email, and the outbox worker mails a reset link only to an active
 * account; the link is single use, lives 30 minutes, and dies with any change of the
 * password or email. Using it sets the password, proves the email (the link came through
 * it) and ends every credential as a password change does.
 */
@Injectable()
export class PasswordResetService implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly accounts: UserAccounts,
    private readonly users: UsersService,
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly auth: AuthService,
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
    // The password rules need the account; the token is used only once the new password passes.
    const pending = await this.tokens.peek(this.dataSource.manager, token, ['reset-password']);
    const owner = pending && (await this.users.findById(pending.userId));
    if (!pending || !owner) return this.refuse();
    const passwordHash = await this.accounts.hashNewPassword(newPassword, owner, 'newPassword');
    const userId = await this.dataSource.transaction(async (manager) => {
      const used = await this.tokens.redeem(manager, token, ['reset-password']);
      const user = used && (await this.accounts.findForUpdate(manager, used.userId));
      const stillFits =
        used && user?.isActive && user.email === used.email && used.passwordDigest?.equals(passwordDigest(user));
      if (!used || !user || !stillFits) throw new InvalidAccountTokenError();
      await this.accounts.setPasswordHash(manager, user.id, passwordHash);
      await this.accounts.markEmailVerified(manager, user.id, user.email);
      return user.id;
    });
    const event: UserChangedEvent = { userId, actorId: userId };
    await this.events.emitAsync(USER_EVENTS.passwordChanged, event);
    await this.auth.revokeAllCredentials(userId);
    await this.audit({
      action: 'auth.password.reset',
      outcome: 'success',
      security: true,
      actorId: userId,
      target: userId,
      status: 204,
    });
  }

  private async refuse(): Promise<never> {
    await this.audit({ action: 'auth.password.reset', outcome: 'failure', security: true, status: 400 });
    throw new InvalidAccountTokenError();
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

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import type { Principal } from '../../../common/auth/principal.js';
import { UnauthenticatedError, ValidationFailedError } from '../../../common/errors/app-error.js';
import { AppConfig } from '../../../config/app-config.js';
import { MailOutbox, type QueuedMail } from '../../mail/mail-outbox.js';
import type { UserResponse } from '../../users/dto/user.response.js';
import { UserAccounts } from '../../users/user-accounts.js';
import { EmailTakenError } from '../../users/users.errors.js';
import { UsersService, type Account, type Registration } from '../../users/users.service.js';
import { InvalidCredentialsError } from '../auth.errors.js';
import { LockoutService } from '../lockout/lockout.service.js';
import { AccountTokens } from './account-tokens.js';
import { InvalidAccountTokenError } from './account.errors.js';

/** The intent the worker turns into a verification mail, when the address has an unproved account. */
const RESEND_VERIFICATION = 'resend-verification';
/** A registration: a proof to the new account, or a notice to the owner of a taken address. */
const REGISTERED = 'registered';

export type RegistrationOutcome = { status: 'verification-sent' } | UserResponse;

/**
 * Registration under EMAIL_VERIFICATION, proof of an email (new or changed) and resending
 * that proof. Whatever may tell an unknown email from a known one does the same work for
 * both, or leaves the difference to the outbox worker.
 */
@Injectable()
export class AccountService implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly accounts: UserAccounts,
    private readonly users: UsersService,
    private readonly tokens: AccountTokens,
    private readonly outbox: MailOutbox,
    private readonly lockout: LockoutService,
    private readonly events: EventEmitter2,
  ) {}

  onModuleInit(): void {
    this.outbox.handleIntent(RESEND_VERIFICATION, (manager, values) => this.prepareVerification(manager, values));
    this.outbox.handleIntent(REGISTERED, (manager, values) => this.prepareRegistered(manager, values));
  }

  /**
   * `mandatory`: the same 202 for a new and a taken email, after the same statements (the
   * insert that may conflict, and one intent); the worker then mails the new account its
   * proof, or the owner of the taken address a notice. `optional` and `none`: 201 the user,
   * 409 for a taken email; `optional` mails a proof too.
   */
  async register(registration: Registration): Promise<RegistrationOutcome> {
    const passwordHash = await this.accounts.hashNewPassword(registration.password, registration);
    const account = {
      email: registration.email,
      displayName: registration.displayName,
      passwordHash,
      roles: ['user' as const],
    };
    const mode = this.config.mail.verification;
    // Counted for new and taken emails alike; a new account's first proof is never held back.
    const mayNotify = mode === 'mandatory' && (await this.outbox.mayMail(account.email));
    const userId = await this.dataSource.transaction(async (manager) => {
      const created = await this.accounts.insertIfNew(manager, account);
      if (!created && mode !== 'mandatory') throw new EmailTakenError();
      if (mode !== 'none') {
        await this.outbox.enqueueIntent(manager, REGISTERED, {
          email: account.email,
          userId: created ?? '',
          notify: mayNotify ? 'yes' : 'no',
        });
      }
      return created;
    });
    this.outbox.wake();
    if (mode === 'mandatory') return { status: 'verification-sent' };
    if (!userId) throw new EmailTakenError();
    return this.users.get(userId);
  }

  /** Proves an email with the token mailed to it: a new account's, or the new address of a change. */
  async verifyEmail(token: string): Promise<void> {
    const outcome = await this.dataSource.transaction(async (manager) => {
      const used = await this.tokens.redeem(manager, token, ['verify-email', 'change-email']);
      if (!used) throw new InvalidAccountTokenError();
      const user = await this.accounts.findForUpdate(manager, used.userId);
      if (!user) throw new InvalidAccountTokenError();
      if (used.purpose === 'verify-email') {
        // A token for an address the account no longer has proves nothing.
        if (!(await this.accounts.markEmailVerified(manager, user.id, used.email)))
          throw new InvalidAccountTokenError();
        return { action: 'auth.email.verify' as const, userId: user.id };
      }
      await this.accounts.switchEmail(manager, user.id, used.email);
      await this.outbox.enqueue(manager, {
        template: 'email-changed',
        to: user.email,
        values: { displayName: user.displayName, newEmail: used.email },
      });
      return { action: 'auth.email.change' as const, userId: user.id };
    });
    this.outbox.wake();
    await this.audit({
      action: outcome.action,
      outcome: 'success',
      actorId: outcome.userId,
      target: outcome.userId,
      status: 204,
    });
  }

  /** 202 whatever the address: the worker mails a new proof only to an account waiting for one. */
  async resendVerification(email: string): Promise<void> {
    if (this.config.mail.verification === 'none') return;
    if (!(await this.outbox.mayMail(email))) return;
    await this.dataSource.transaction((manager) => this.outbox.enqueueIntent(manager, RESEND_VERIFICATION, { email }));
    this.outbox.wake();
  }

  /**
   * Asks to move the caller's account to `newEmail`: a proof goes to the new address (the
   * switch happens when it is used) and the old address hears when it happens. A new
   * address that has an account already gets a notice instead, and the answer is the same.
   */
  async requestEmailChange(
    caller: Principal,
    newEmail: string,
    currentPassword: string,
    address: string,
  ): Promise<void> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    await this.lockout.reserveAttempt(user.email, address);
    if (!(await this.accounts.verifyPassword(this.dataSource.manager, user.id, currentPassword))) {
      await this.audit({
        action: 'auth.email.change',
        outcome: 'failure',
        security: true,
        target: user.id,
        status: 401,
      });
      throw new InvalidCredentialsError();
    }
    await this.lockout.recordSuccess(user.email, address);
    if (newEmail === user.email) {
      throw new ValidationFailedError([{ field: 'newEmail', message: 'is already the email of this account' }]);
    }
    if (await this.outbox.mayMail(newEmail)) {
      await this.dataSource.transaction(async (manager) => {
        if (await this.accounts.findByEmail(manager, newEmail)) {
          await this.outbox.enqueue(manager, { template: 'change-email-taken', to: newEmail, values: {} });
        } else {
          await this.queueVerification(manager, user, newEmail, 'change-email');
        }
      });
      this.outbox.wake();
    }
    await this.audit({ action: 'auth.email.change-request', outcome: 'success', target: user.id, status: 202 });
  }

  private async queueVerification(
    manager: EntityManager,
    user: Pick<Account, 'id' | 'credentialsEpoch' | 'displayName'>,
    email: string,
    purpose: 'verify-email' | 'change-email',
  ): Promise<void> {
    const token = await this.tokens.issue(manager, user, purpose, email);
    await this.outbox.enqueue(manager, {
      template: purpose,
      to: email,
      values: { displayName: user.displayName, token },
    });
  }

  private async prepareRegistered(manager: EntityManager, values: Record<string, string>): Promise<QueuedMail | null> {
    if (!values.userId) {
      return values.notify === 'yes' ? { template: 'register-attempt', to: String(values.email), values: {} } : null;
    }
    // The transaction's own connection: the embedded database has only one.
    const user = await this.accounts.findById(manager, values.userId);
    if (!user || user.emailVerifiedAt !== null) return null;
    const token = await this.tokens.issue(manager, user, 'verify-email', user.email);
    return { template: 'verify-email', to: user.email, values: { displayName: user.displayName, token } };
  }

  private async prepareVerification(
    manager: EntityManager,
    values: Record<string, string>,
  ): Promise<QueuedMail | null> {
    const user = await this.accounts.findByEmail(manager, String(values.email));
    if (!user || !user.isActive || user.emailVerifiedAt !== null) return null;
    const token = await this.tokens.issue(manager, user, 'verify-email', user.email);
    return { template: 'verify-email', to: user.email, values: { displayName: user.displayName, token } };
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

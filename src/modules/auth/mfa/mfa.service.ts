import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource, type EntityManager } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import type { Principal } from '../../../common/auth/principal.js';
import type { Role } from '../../../common/auth/roles.js';
import type { AuthenticationMethod } from '../../../common/auth/sign-in-proof.js';
import { NotFoundError, UnauthenticatedError } from '../../../common/errors/app-error.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService } from '../../users/users.service.js';
import { InvalidCodeError, MfaConflictError, type MfaMethod } from './mfa.errors.js';
import { MFA_EVENTS, type MfaFactorEvent } from './mfa.events.js';
import { MfaRepository } from './mfa.repository.js';
import { PasskeysRepository } from './passkeys.repository.js';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import { SecretBox } from './secret-box.js';
import { base32Of, newTotpSecret, otpauthUri, qrCodeDataUrl, stepOfCode } from './totp.js';

/** What a second step of sign-in (or a step-up) presents: a TOTP code or a recovery code. */
export interface SecondFactorAnswer {
  code?: string;
  recoveryCode?: string;
}

export interface MfaStatus {
  totp: 'none' | 'pending' | 'active';
  recoveryCodesLeft: number;
  passkeys: number;
  methods: MfaMethod[];
}

/**
 * A user's second factors: TOTP enrolment and removal, recovery codes, and checking an
 * answer. Every check that accepts a code writes that it was used in the caller's
 * transaction, so a code (or recovery code) works once, on every instance.
 */
@Injectable()
export class MfaService {
  constructor(
    private readonly config: AppConfig,
    private readonly factors: MfaRepository,
    private readonly passkeys: PasskeysRepository,
    private readonly box: SecretBox,
    private readonly users: UsersService,
    private readonly events: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async status(userId: string): Promise<MfaStatus> {
    const [totp, recoveryCodesLeft, passkeys] = await Promise.all([
      this.factors.findTotp(userId),
      this.factors.recoveryCodesLeft(userId),
      this.passkeys.countOfUser(userId),
    ]);
    const state = !totp ? 'none' : totp.confirmedAt ? 'active' : 'pending';
    const methods: MfaMethod[] = state === 'active' ? ['totp', 'recovery-code'] : [];
    if (passkeys > 0) methods.push('passkey');
    return { totp: state, recoveryCodesLeft, passkeys, methods };
  }

  /** The user holds a live second factor (a confirmed TOTP factor or a passkey): sign-ins and step-ups must use it. */
  async hasSecondFactor(userId: string): Promise<boolean> {
    return (await this.status(userId)).methods.length > 0;
  }

  /** Holders of a role in MFA_REQUIRED_ROLES must have a second factor. */
  mustHaveSecondFactor(roles: readonly Role[]): boolean {
    return roles.some((role) => this.config.mfa.requiredRoles.includes(role));
  }

  /** A new pending TOTP factor (replacing a pending one); 409 while one is active. */
  async beginTotp(caller: Principal): Promise<{ secret: string; otpauthUri: string; qrCodeDataUrl: string }> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    const secret = newTotpSecret();
    if (!(await this.factors.savePendingTotp(user.id, this.box.seal(secret, user.id)))) {
      throw new MfaConflictError('A TOTP factor is already active; delete it first to enrol another.');
    }
    await this.audit({ action: 'mfa.totp.begin', outcome: 'success', actorId: user.id, target: user.id, status: 201 });
    const uri = otpauthUri(secret, user.email, this.config.mfa.issuerLabel);
    return { secret: base32Of(secret), otpauthUri: uri, qrCodeDataUrl: qrCodeDataUrl(uri) };
  }

  /** The first code makes the pending factor live; the answer carries the recovery codes, shown once. */
  async confirmTotp(caller: Principal, code: string): Promise<{ recoveryCodes: string[] }> {
    const userId = caller.userId;
    const factor = await this.factors.findTotp(userId);
    if (!factor || factor.confirmedAt) throw new MfaConflictError('There is no pending TOTP factor to confirm.');
    const step = stepOfCode(this.box.open(factor.secretSealed, userId), code);
    const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const confirmed =
      step !== null &&
      (await this.dataSource.transaction(async (manager) => {
        if (!(await this.factors.acceptStep(manager, userId, step, true))) return false;
        await this.factors.replaceRecoveryCodes(manager, userId, recoveryCodes.map(hashRecoveryCode));
        return true;
      }));
    if (!confirmed) {
      await this.audit({ action: 'mfa.totp.confirm', outcome: 'failure', security: true, target: userId, status: 400 });
      throw new InvalidCodeError('The code does not match the pending factor (or was already used).');
    }
    await this.audit({ action: 'mfa.totp.confirm', outcome: 'success', actorId: userId, target: userId, status: 200 });
    await this.announce(MFA_EVENTS.factorAdded, { userId, factor: 'totp', actorId: userId });
    return { recoveryCodes };
  }

  /** Removes the TOTP factor and its recovery codes; refused for the last factor of a user whose role needs one. */
  async deleteTotp(caller: Principal): Promise<void> {
    const userId = caller.userId;
    const user = await this.users.findById(userId);
    if (!user) throw new UnauthenticatedError();
    const factor = await this.factors.findTotp(userId);
    if (!factor) throw new NotFoundError('There is no TOTP factor.');
    const passkeys = await this.passkeys.countOfUser(userId);
    if (factor.confirmedAt && passkeys === 0 && this.mustHaveSecondFactor(user.roles)) {
      throw new MfaConflictError('Your role requires a second factor: enrol another before removing this one.');
    }
    await this.dataSource.transaction(async (manager) => {
      await this.factors.deleteTotp(manager, userId);
      await this.factors.deleteRecoveryCodes(manager, userId);
    });
    await this.audit({ action: 'mfa.totp.delete', outcome: 'success', actorId: userId, target: userId, status: 204 });
    if (factor.confirmedAt) await this.announce(MFA_EVENTS.factorRemoved, { userId, factor: 'totp', actorId: userId });
  }

  /** A new set of recovery codes; the old set dies. */
  async regenerateRecoveryCodes(caller: Principal): Promise<{ recoveryCodes: string[] }> {
    if (!(await this.hasSecondFactor(caller.userId))) {
      throw new MfaConflictError('Recovery codes come with a second factor: enrol one first.');
    }
    const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.dataSource.transaction((manager) =>
      this.factors.replaceRecoveryCodes(manager, caller.userId, recoveryCodes.map(hashRecoveryCode)),
    );
    await this.audit({
      action: 'mfa.recovery-codes.regenerate',
      outcome: 'success',
      actorId: caller.userId,
      target: caller.userId,
      status: 200,
    });
    return { recoveryCodes };
  }

  /** An administrator's reset for a user who lost their factors: every factor and recovery code goes. */
  async resetFactors(admin: Principal, userId: string): Promise<void> {
    if (!(await this.users.findById(userId))) throw new NotFoundError('No such user.');
    await this.dataSource.transaction(async (manager) => {
      await this.factors.deleteTotp(manager, userId);
      await this.factors.deleteRecoveryCodes(manager, userId);
      await this.passkeys.deleteAllOfUser(manager, userId);
    });
    await this.audit({
      action: 'mfa.factors.reset',
      outcome: 'success',
      security: true,
      actorId: admin.userId,
      target: userId,
      status: 204,
    });
    await this.announce(MFA_EVENTS.factorsReset, { userId, factor: 'all', actorId: admin.userId });
  }

  /**
   * Checks an answer in the caller's transaction and marks what it used as used. The RFC 8176
   * methods it proves, or null when it is wrong (or a replay).
   */
  async checkAnswer(
    manager: EntityManager,
    userId: string,
    answer: SecondFactorAnswer,
  ): Promise<AuthenticationMethod[] | null> {
    const factor = await this.factors.findTotp(userId, manager);
    if (!factor?.confirmedAt) return null;
    if (answer.code !== undefined) {
      const step = stepOfCode(this.box.open(factor.secretSealed, userId), answer.code);
      return step !== null && (await this.factors.acceptStep(manager, userId, step, false)) ? ['otp'] : null;
    }
    if (answer.recoveryCode !== undefined) {
      return (await this.factors.useRecoveryCode(manager, userId, hashRecoveryCode(answer.recoveryCode))) ? [] : null;
    }
    return null;
  }

  /** Awaited, so the request answers only once the user's notice is in the outbox. */
  private async announce(name: string, event: MfaFactorEvent): Promise<void> {
    await this.events.emitAsync(name, event);
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import type { AuthenticationMethod, SignInProof } from '../../../common/auth/sign-in-proof.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService, type Account } from '../../users/users.service.js';
import { LockoutService } from '../lockout/lockout.service.js';
import { InvalidSecondFactorError, MfaRequiredError } from './mfa.errors.js';
import type { MfaPurpose } from './mfa.entities.js';
import { MfaRepository } from './mfa.repository.js';
import { MfaService, type SecondFactorAnswer } from './mfa.service.js';

const MFA_TOKEN_TAG = 'nsa_mfa';

/** Thrown inside the finishing transaction so a wrong answer leaves the mfaToken unused. */
class WrongAnswer extends Error {}

/** A sign-in whose second factor checked out: what to issue credentials for, and how it was proved. */
export interface FinishedSignIn {
  /** With the credentials epoch of the password check: a change since makes the issue refuse. */
  account: Account;
  proof: SignInProof;
  purpose: MfaPurpose;
}

/**
 * The second step of every sign-in path. After the password, a user with a second factor
 * gets an mfaToken (256 bits, stored hashed, 5 minutes, single use) bound to the path it
 * continues (login, session, OAuth page) and to the account as it was at the password check.
 * Wrong answers count toward the account's lockout exactly as wrong passwords do.
 */
@Injectable()
export class MfaSignInService {
  constructor(
    private readonly config: AppConfig,
    private readonly mfa: MfaService,
    private readonly challenges: MfaRepository,
    private readonly users: UsersService,
    private readonly lockout: LockoutService,
    private readonly events: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** Throws the `mfa-required` answer when the account has a second factor; returns when it has none. */
  async requireSecondStep(account: Account, purpose: MfaPurpose): Promise<void> {
    const status = await this.mfa.status(account.id);
    if (status.methods.length === 0) return;
    const mfaToken = newOpaqueToken(MFA_TOKEN_TAG);
    await this.challenges.insertChallenge({
      tokenHash: hashOpaqueToken(mfaToken),
      userId: account.id,
      purpose,
      credentialsEpoch: account.credentialsEpoch,
      expiresAt: new Date(Date.now() + this.config.mfa.challengeTtlSeconds * 1000),
    });
    await this.audit({
      action: 'auth.mfa.required',
      outcome: 'success',
      actorId: account.id,
      target: account.id,
      status: 403,
      details: { path: purpose },
    });
    throw new MfaRequiredError(mfaToken, status.methods);
  }

  /**
   * Finishes the sign-in an mfaToken continues, if it is one of `purposes`. The token is
   * used up in the transaction that accepts the answer: of two requests with one token
   * exactly one finishes, and a wrong answer leaves it for the user's next try.
   */
  async finish(
    mfaToken: string,
    purposes: readonly MfaPurpose[],
    answer: SecondFactorAnswer,
    address: string,
  ): Promise<FinishedSignIn> {
    const challenge = await this.challenges.findLiveChallenge(hashOpaqueToken(mfaToken), purposes);
    const account = challenge && (await this.users.findById(challenge.userId));
    if (!challenge || !account?.isActive) {
      await this.audit({ action: 'auth.mfa.verify', outcome: 'denied', security: true, status: 401 });
      throw new InvalidSecondFactorError();
    }
    try {
      await this.lockout.reserveAttempt(account.email, address);
    } catch (error) {
      await this.audit({
        action: 'auth.lockout',
        outcome: 'denied',
        security: true,
        target: account.email,
        status: 429,
      });
      throw error;
    }
    let proved: AuthenticationMethod[] | 'used';
    try {
      proved = await this.dataSource.transaction(async (manager) => {
        if (!(await this.challenges.claimChallenge(manager, challenge.id))) return 'used' as const;
        const methods = await this.mfa.checkAnswer(manager, account.id, answer);
        if (!methods) throw new WrongAnswer();
        return methods;
      });
    } catch (error) {
      if (!(error instanceof WrongAnswer)) throw error;
      await this.audit({
        action: 'auth.mfa.verify',
        outcome: 'failure',
        security: true,
        target: account.id,
        status: 401,
        details: { method: answer.code !== undefined ? 'totp' : 'recovery-code' },
      });
      throw new InvalidSecondFactorError();
    }
    if (proved === 'used') {
      await this.audit({
        action: 'auth.mfa.verify',
        outcome: 'denied',
        security: true,
        target: account.id,
        status: 401,
      });
      throw new InvalidSecondFactorError();
    }
    await this.lockout.recordSuccess(account.email, address);
    await this.audit({
      action: 'auth.mfa.verify',
      outcome: 'success',
      actorId: account.id,
      target: account.id,
      status: 200,
      details: { method: answer.code !== undefined ? 'totp' : 'recovery-code', path: challenge.purpose },
    });
    return {
      account: { ...account, credentialsEpoch: challenge.credentialsEpoch },
      proof: { authTime: Math.floor(Date.now() / 1000), amr: ['pwd', ...proved, 'mfa'] },
      purpose: challenge.purpose,
    };
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

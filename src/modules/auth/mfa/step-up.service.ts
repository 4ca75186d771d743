import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { FIRST_PARTY_METHODS } from '../../../common/auth/credential-kind.js';
import type { Principal } from '../../../common/auth/principal.js';
import { type AuthenticationMethod, type SignInProof, usedSecondFactor } from '../../../common/auth/sign-in-proof.js';
import { BadRequestError, UnauthenticatedError } from '../../../common/errors/app-error.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService } from '../../users/users.service.js';
import { InvalidCredentialsError } from '../auth.errors.js';
import { LockoutService } from '../lockout/lockout.service.js';
import {
  InsufficientUserAuthenticationError,
  InvalidSecondFactorError,
  MfaEnrollmentRequiredError,
  ReauthenticationRequiredError,
} from './mfa.errors.js';
import { MfaService, type SecondFactorAnswer } from './mfa.service.js';

/**
 * RFC 9470 step-up. Sensitive routes need a first-party sign-in no older than REAUTH_MAX_AGE
 * and, for a user with a second factor, one that used it; `POST /auth/reauthenticate` gives a
 * fresh proof. Also the MFA_REQUIRED_ROLES rule: such a user without a factor may only enrol.
 */
@Injectable()
export class StepUpService {
  constructor(
    private readonly config: AppConfig,
    private readonly mfa: MfaService,
    private readonly users: UsersService,
    private readonly lockout: LockoutService,
    private readonly events: EventEmitter2,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** 403 mfa-enrollment-required for a holder of a required role without a second factor. */
  async assertEnrolledIfRequired(principal: Principal): Promise<void> {
    if (!this.mfa.mustHaveSecondFactor(principal.roles)) return;
    if (await this.mfa.hasSecondFactor(principal.userId)) return;
    throw new MfaEnrollmentRequiredError(
      'Your role requires a second factor: enrol one with POST /api/v1/auth/mfa/totp, then use the API.',
    );
  }

  /** The step-up challenge when the caller's sign-in is too old or lacks the factor it should have used. */
  async assertRecentSignIn(principal: Principal): Promise<void> {
    // Derived credentials (API keys, personal and OAuth tokens) carry no sign-in; the routes'
    // own policies decide what they may do.
    if (!FIRST_PARTY_METHODS.has(principal.authMethod)) return;
    const maxAge = this.config.mfa.reauthMaxAgeSeconds;
    const proof = principal.signIn;
    const age = proof ? Math.floor(Date.now() / 1000) - proof.authTime : Number.POSITIVE_INFINITY;
    let problem: string | undefined;
    if (age > maxAge) problem = `This needs a sign-in from the last ${maxAge} seconds.`;
    else if (!usedSecondFactor(proof as SignInProof) && (await this.mfa.hasSecondFactor(principal.userId))) {
      problem = 'This needs a sign-in with your second factor.';
    }
    if (!problem) return;
    if (principal.authMethod === 'session')
      throw new ReauthenticationRequiredError(`${problem} POST /api/v1/auth/reauthenticate.`);
    throw new InsufficientUserAuthenticationError(problem, maxAge);
  }

  /**
   * Checks a step-up answer: the second factor for a user who has one, else the password.
   * Counted toward the account's lockout like every other password or code.
   */
  async reauthenticate(
    caller: Principal,
    answer: SecondFactorAnswer & { password?: string },
    address: string,
  ): Promise<SignInProof> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    const hasFactor = await this.mfa.hasSecondFactor(user.id);
    if (hasFactor && answer.code === undefined && answer.recoveryCode === undefined) {
      throw new BadRequestError('Your account has a second factor: send its code (or a recovery code).');
    }
    if (!hasFactor && answer.password === undefined) throw new BadRequestError('Send your password.');
    try {
      await this.lockout.reserveAttempt(user.email, address);
    } catch (error) {
      await this.audit({ action: 'auth.lockout', outcome: 'denied', security: true, target: user.email, status: 429 });
      throw error;
    }
    let proved: AuthenticationMethod[] | null;
    if (hasFactor) {
      proved = await this.dataSource.transaction((manager) => this.mfa.checkAnswer(manager, user.id, answer));
      if (proved) proved = [...proved, 'mfa'];
    } else {
      proved = (await this.users.verifyPassword(user.email, answer.password as string)) ? ['pwd'] : null;
    }
    if (!proved) {
      await this.audit({
        action: 'auth.reauthenticate',
        outcome: 'failure',
        security: true,
        target: user.id,
        status: 401,
      });
      throw hasFactor ? new InvalidSecondFactorError() : new InvalidCredentialsError();
    }
    await this.lockout.recordSuccess(user.email, address);
    await this.audit({
      action: 'auth.reauthenticate',
      outcome: 'success',
      actorId: user.id,
      target: user.id,
      status: 200,
    });
    const amr = new Set<AuthenticationMethod>([...(caller.signIn?.amr ?? ['pwd']), ...proved]);
    return { authTime: Math.floor(Date.now() / 1000), amr: [...amr] };
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

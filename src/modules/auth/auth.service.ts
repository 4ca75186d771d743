import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import type { Principal } from '../../common/auth/principal.js';
import { passwordProof, type SignInProof } from '../../common/auth/sign-in-proof.js';
import { UnauthenticatedError } from '../../common/errors/app-error.js';
import type { SurvivingCredential } from '../users/users.events.js';
import { UsersService, type Account } from '../users/users.service.js';
import { SignInPolicy } from './account/sign-in-policy.js';
import { InvalidCredentialsError, InvalidRefreshTokenError } from './auth.errors.js';
import type { CredentialOrigin } from './credentials/credential-origin.js';
import type { TokenPairResponse } from './dto/auth.dto.js';
import { LockoutService } from './lockout/lockout.service.js';
import { MfaSignInService } from './mfa/mfa-sign-in.service.js';
import { RefreshTokensRepository } from './refresh/refresh-tokens.repository.js';
import { RefreshTokensService, type IssuedPair } from './refresh/refresh-tokens.service.js';
import { RevocationService } from './revocation/revocation.service.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly lockout: LockoutService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly families: RefreshTokensRepository,
    private readonly revocation: RevocationService,
    private readonly signInPolicy: SignInPolicy,
    private readonly events: EventEmitter2,
    private readonly mfaSignIn: MfaSignInService,
    @InjectPinoLogger(AuthService.name) private readonly logger: PinoLogger,
  ) {}

  /** Every password sign-in goes through here: lockout first, then one constant-cost check. */
  async checkPassword(email: string, password: string, address: string): Promise<Account> {
    try {
      await this.lockout.reserveAttempt(email, address);
    } catch (error) {
      await this.audit({ action: 'auth.lockout', outcome: 'denied', security: true, target: email, status: 429 });
      throw error;
    }
    const user = await this.users.verifyPassword(email, password);
    if (!user) {
      await this.audit({ action: 'auth.login', outcome: 'failure', security: true, target: email, status: 401 });
      throw new InvalidCredentialsError();
    }
    await this.lockout.recordSuccess(email, address);
    await this.signInPolicy.afterPasswordChecked(user, address);
    await this.users.recordLogin(user.id);
    await this.audit({ action: 'auth.login', outcome: 'success', actorId: user.id, target: user.id, status: 200 });
    return user;
  }

  async login(email: string, password: string, origin: CredentialOrigin & { ip: string }): Promise<TokenPairResponse> {
    const account = await this.checkPassword(email, password, origin.ip);
    // A user with a second factor gets the mfa-required answer; POST /mfa/verify issues the pair.
    await this.mfaSignIn.requireSecondStep(account, 'login');
    return this.issuePair(account, origin, passwordProof());
  }

  /** A token pair for a sign-in that checked out (the password, and the second factor where there is one). */
  async issuePair(account: Account, origin: CredentialOrigin, proof: SignInProof): Promise<TokenPairResponse> {
    const pair = await this.refreshTokens.signIn(account, origin, proof);
    // The account changed between the password check and the issue (a password change, a
    // deactivation): what the sign-in proved no longer holds.
    if (!pair) throw new InvalidCredentialsError();
    return toResponse(pair);
  }

  /** The caller's account as it is now (a step-up issues for it). */
  async currentAccount(caller: Principal): Promise<Account> {
    const account = await this.users.findById(caller.userId);
    if (!account?.isActive) throw new UnauthenticatedError();
    return account;
  }

  async refresh(presented: string): Promise<TokenPairResponse> {
    const result = await this.refreshTokens.rotate(presented);
    if (result.outcome === 'reused') {
      this.logger.warn({ userId: result.userId, familyId: result.familyId }, 'refresh token reused: family revoked');
      await this.audit({
        action: 'auth.refresh.reuse',
        outcome: 'denied',
        security: true,
        actorId: result.userId,
        target: result.familyId,
        status: 401,
      });
    }
    if (result.outcome !== 'rotated') throw new InvalidRefreshTokenError();
    return toResponse(result.pair);
  }

  /** Ends the refresh family and, when the caller signed in with a JWT, that access token. */
  async logout(presentedRefreshToken: string, caller: Principal | undefined): Promise<void> {
    await this.refreshTokens.revokeFamilyOf(presentedRefreshToken);
    if (caller?.authMethod === 'jwt' && caller.credentialExpiresAt !== undefined) {
      await this.revocation.revoke(
        this.revocation.accessToken(caller.credentialId, caller.userId, caller.credentialExpiresAt),
      );
    }
    await this.audit({ action: 'auth.logout', outcome: 'success', status: 204 });
  }

  /**
   * Changes the password; with it, atomically, every other session, refresh family and access
   * token, personal token, OAuth grant and token, and (unless kept) API key of the user ends.
   */
  async changePassword(
    caller: Principal,
    body: { currentPassword: string; newPassword: string; keepApiKeys?: boolean },
    address: string,
  ): Promise<void> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    await this.lockout.reserveAttempt(user.email, address);
    const keep: SurvivingCredential | undefined =
      caller.authMethod === 'session' ? { kind: 'session', id: caller.credentialId } : undefined;
    const changed = await this.users.changePassword(user.id, body.currentPassword, body.newPassword, {
      keep,
      keepApiKeys: body.keepApiKeys === true,
    });
    if (!changed) {
      await this.audit({
        action: 'auth.password.change',
        outcome: 'failure',
        security: true,
        target: user.id,
        status: 401,
      });
      throw new InvalidCredentialsError();
    }
    await this.lockout.recordSuccess(user.email, address);
    await this.audit({ action: 'auth.password.change', outcome: 'success', target: user.id, status: 204 });
  }

  /** The credential making a request, as what a lifecycle change must leave alive. */
  async survivingCredential(caller: Principal): Promise<SurvivingCredential | undefined> {
    if (caller.authMethod === 'session') return { kind: 'session', id: caller.credentialId };
    if (caller.authMethod !== 'jwt') return undefined;
    const familyId = await this.families.familyOfAccessToken(caller.credentialId);
    return familyId ? { kind: 'refresh-family', id: familyId } : undefined;
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}

function toResponse(pair: IssuedPair): TokenPairResponse {
  return {
    access_token: pair.access.token,
    refresh_token: pair.refreshToken,
    token_type: 'Bearer',
    expires_in: pair.access.expiresIn,
  };
}

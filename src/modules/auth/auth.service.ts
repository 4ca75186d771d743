import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AUDIT_RECORD, type AuditRecord } from '../../common/audit/audit-record.js';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { Principal } from '../../common/auth/principal.js';
import { UnauthenticatedError } from '../../common/errors/app-error.js';
import type { User } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { InvalidCredentialsError, InvalidRefreshTokenError } from './auth.errors.js';
import type { TokenPairResponse } from './dto/auth.dto.js';
import { AccessTokensService } from './jwt/access-tokens.service.js';
import { LockoutService } from './lockout/lockout.service.js';
import { RefreshTokensService } from './refresh/refresh-tokens.service.js';
import { RevocationService } from './revocation/revocation.service.js';
import { SessionsService } from './sessions/sessions.service.js';
import { PersonalTokensService } from './tokens/personal-tokens.service.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly lockout: LockoutService,
    private readonly accessTokens: AccessTokensService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocation: RevocationService,
    private readonly sessions: SessionsService,
    private readonly personalTokens: PersonalTokensService,
    private readonly events: EventEmitter2,
    @InjectPinoLogger(AuthService.name) private readonly logger: PinoLogger,
  ) {}

  /** Every password sign-in goes through here: lockout first, then one constant-cost check. */
  async checkPassword(email: string, password: string, address: string): Promise<User> {
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
    await this.users.recordLogin(user.id);
    await this.audit({ action: 'auth.login', outcome: 'success', actorId: user.id, target: user.id, status: 200 });
    return user;
  }

  async login(email: string, password: string, address: string): Promise<TokenPairResponse> {
    const user = await this.checkPassword(email, password, address);
    return this.issuePair(user, await this.refreshTokens.issue(user.id));
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
    const user = await this.users.findById(result.userId);
    if (!user?.isActive) throw new InvalidRefreshTokenError();
    return this.issuePair(user, result);
  }

  /** Ends the refresh family and, when the caller signed in with a JWT, that access token. */
  async logout(presentedRefreshToken: string, caller: Principal | undefined): Promise<void> {
    await this.refreshTokens.revokeFamilyOf(presentedRefreshToken);
    if (caller?.authMethod === 'jwt' && caller.credentialExpiresAt !== undefined) {
      await this.revocation.revokeAccessToken(caller.credentialId, caller.userId, caller.credentialExpiresAt);
    }
    await this.audit({ action: 'auth.logout', outcome: 'success', status: 204 });
  }

  async changePassword(
    caller: Principal,
    currentPassword: string,
    newPassword: string,
    address: string,
  ): Promise<void> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    await this.lockout.reserveAttempt(user.email, address);
    if (!(await this.users.changePassword(user, currentPassword, newPassword))) {
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
    await this.revokeAllCredentials(user.id, caller.authMethod === 'session' ? caller.credentialId : undefined);
    await this.audit({ action: 'auth.password.change', outcome: 'success', target: user.id, status: 204 });
  }

  /**
   * Kills every credential of the user at once, on every instance: access tokens (cutoff),
   * refresh families, personal tokens and sessions (but `keepSessionId`).
   */
  async revokeAllCredentials(userId: string, keepSessionId?: string): Promise<void> {
    await Promise.all([
      this.revocation.revokeUserTokens(userId),
      this.refreshTokens.revokeAllOfUser(userId),
      this.personalTokens.deleteAllOfUser(userId),
      this.sessions.endAllOfUser(userId, keepSessionId),
    ]);
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }

  private async issuePair(user: User, refresh: { token: string; tokenId: string }): Promise<TokenPairResponse> {
    const access = await this.accessTokens.issue(user);
    await this.refreshTokens.pairWithAccessToken(refresh.tokenId, {
      jti: access.jti,
      expiresAtSeconds: access.expiresAt,
    });
    return {
      access_token: access.token,
      refresh_token: refresh.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
    };
  }
}

import { Injectable } from '@nestjs/common';
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
    @InjectPinoLogger(AuthService.name) private readonly logger: PinoLogger,
  ) {}

  /** Every password sign-in goes through here: lockout first, then one constant-cost check. */
  async checkPassword(email: string, password: string, address: string): Promise<User> {
    await this.lockout.assertNotLocked(email, address);
    const user = await this.users.verifyPassword(email, password);
    if (!user) {
      await this.lockout.recordFailure(email, address);
      this.logger.info({ event: 'auth.login.failure', address }, 'sign-in failed');
      throw new InvalidCredentialsError();
    }
    await this.lockout.recordSuccess(email);
    await this.users.recordLogin(user.id);
    return user;
  }

  async login(email: string, password: string, address: string): Promise<TokenPairResponse> {
    const user = await this.checkPassword(email, password, address);
    return this.issuePair(user, await this.refreshTokens.issue(user.id));
  }

  async refresh(presented: string): Promise<TokenPairResponse> {
    const result = await this.refreshTokens.rotate(presented);
    if (result.outcome === 'reused') {
      this.logger.warn(
        { event: 'auth.refresh.reuse', userId: result.userId, familyId: result.familyId },
        'refresh token reused: family revoked',
      );
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
  }

  async changePassword(caller: Principal, currentPassword: string, newPassword: string, address: string): Promise<void> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    await this.lockout.assertNotLocked(user.email, address);
    if (!(await this.users.changePassword(user, currentPassword, newPassword))) {
      await this.lockout.recordFailure(user.email, address);
      throw new InvalidCredentialsError();
    }
    await this.revokeAllCredentials(user.id, caller.authMethod === 'session' ? caller.credentialId : undefined);
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

  private async issuePair(user: User, refresh: { token: string; tokenId: string }): Promise<TokenPairResponse> {
    const access = await this.accessTokens.issue(user);
    await this.refreshTokens.pairWithAccessToken(refresh.tokenId, { jti: access.jti, expiresAtSeconds: access.expiresAt });
    return { access_token: access.token, refresh_token: refresh.token, token_type: 'Bearer', expires_in: access.expiresIn };
  }
}

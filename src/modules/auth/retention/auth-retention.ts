import { Injectable, Module } from '@nestjs/common';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { LessThan, type Repository } from 'typeorm';
import { AppConfig } from '../../../config/app-config.js';
import { CLOCK_MARGIN_MS } from '../jwt/clock-margin.js';
import { RefreshToken } from '../refresh/refresh-token.entity.js';
import { RevokedAccessToken } from '../revocation/revoked-access-token.entity.js';
import { TokenCutoff } from '../revocation/token-cutoff.entity.js';
import { Session } from '../sessions/session.entity.js';
import { PersonalToken } from '../tokens/personal-token.entity.js';

/** A refresh token is kept this long past its expiry, so a late replay still reads as reuse (and ends the family). */
const REFRESH_REUSE_WINDOW_MS = 86_400_000;

/** Rows of auth removed by one purge, per kind. */
export interface AuthPurgeCounts {
  refreshTokens: number;
  personalTokens: number;
  sessions: number;
  revokedAccessTokens: number;
  tokenCutoffs: number;
}

/**
 * Deletes auth's rows that can no longer matter: expired credentials, and revocations of
 * tokens that have expired on their own. Each margin sits beside the rule it serves. One
 * DELETE per kind; running it twice, or on several instances at once, is harmless.
 */
@Injectable()
export class AuthRetention {
  constructor(
    private readonly config: AppConfig,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    @InjectRepository(PersonalToken) private readonly personalTokens: Repository<PersonalToken>,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectRepository(RevokedAccessToken) private readonly revokedAccessTokens: Repository<RevokedAccessToken>,
    @InjectRepository(TokenCutoff) private readonly tokenCutoffs: Repository<TokenCutoff>,
  ) {}

  async purgeExpired(now: Date): Promise<AuthPurgeCounts> {
    const before = (offsetMs: number) => LessThan(new Date(now.getTime() - offsetMs));
    const deleted = async (result: Promise<{ affected?: number | null }>) => (await result).affected ?? 0;
    // Kept past expiry for the reuse window, so a late replay still reads as reuse.
    const refreshTokens = await deleted(this.refreshTokens.delete({ expiresAt: before(REFRESH_REUSE_WINDOW_MS) }));
    const personalTokens = await deleted(this.personalTokens.delete({ expiresAt: before(0) }));
    const sessions = await deleted(this.sessions.delete({ expiresAt: before(0) }));
    // Beyond the verifier's clock margin, so nothing a verifier may still accept loses its revocation.
    const revokedAccessTokens = await deleted(this.revokedAccessTokens.delete({ expiresAt: before(CLOCK_MARGIN_MS) }));
    // Every token issued before such a cutoff has expired by now: the cutoff kills nothing more.
    const cutoffAge = this.config.auth.accessTtlSeconds * 1000 + CLOCK_MARGIN_MS;
    const tokenCutoffs = await deleted(this.tokenCutoffs.delete({ tokensValidAfter: before(cutoffAge) }));
    return { refreshTokens, personalTokens, sessions, revokedAccessTokens, tokenCutoffs };
  }
}

/** The purge alone (no HTTP, no Redis, no users), so the `tokens:purge` command can boot it. */
@Module({
  imports: [TypeOrmModule.forFeature([RefreshToken, PersonalToken, Session, RevokedAccessToken, TokenCutoff])],
  providers: [AuthRetention],
  exports: [AuthRetention],
})
export class AuthRetentionModule {}

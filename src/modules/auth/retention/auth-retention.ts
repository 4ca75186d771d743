import { Injectable, Module } from '@nestjs/common';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { LessThan, type Repository } from 'typeorm';
import { AppConfig } from '../../../config/app-config.js';
import { CLOCK_MARGIN_MS } from '../jwt/clock-margin.js';
import { RefreshToken } from '../refresh/refresh-token.entity.js';
import { RefreshTokensRepository } from '../refresh/refresh-tokens.repository.js';
import { RevocationLogEntry } from '../revocation/revocation-log-entry.entity.js';
import { RevokedAccessToken } from '../revocation/revoked-access-token.entity.js';
import { TokenCutoff } from '../revocation/token-cutoff.entity.js';
import { Session } from '../sessions/session.entity.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { PersonalToken } from '../tokens/personal-token.entity.js';
import { PersonalTokensRepository } from '../tokens/personal-tokens.repository.js';

/**
 * The revocation log serves only the catch-up of instances that missed a broadcast (each
 * re-reads a minute); the state itself is in the revocation tables. An hour is ample.
 */
const REVOCATION_LOG_KEPT_MS = 3_600_000;
/**
 * Instances forget a cut-off a minute or two after its horizon (their prune runs each
 * minute); its row goes later, so a token issued after it (generation 0) is never judged by a
 * generation an instance still remembers.
 */
const CUTOFF_ROW_SLACK_MS = 10 * 60_000;

/** A refresh token is kept this long past its expiry, so a late replay still reads as reuse (and ends the family). */
const REFRESH_REUSE_WINDOW_MS = 86_400_000;

/** Rows of auth removed by one purge, per kind. */
export interface AuthPurgeCounts {
  refreshTokens: number;
  personalTokens: number;
  sessions: number;
  revokedAccessTokens: number;
  tokenCutoffs: number;
  revocationLog: number;
}

/**
 * Deletes auth's rows that can no longer matter: expired credentials, through their
 * repositories, and revocations of tokens that have expired on their own. Each margin sits
 * beside the rule it serves. One DELETE per kind; running it twice, or on several instances
 * at once, is harmless.
 */
@Injectable()
export class AuthRetention {
  constructor(
    private readonly config: AppConfig,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly personalTokens: PersonalTokensRepository,
    private readonly sessions: SessionsRepository,
    // The revocation tables have no repository of their own yet: RevocationService reads them directly.
    @InjectRepository(RevokedAccessToken) private readonly revokedAccessTokens: Repository<RevokedAccessToken>,
    @InjectRepository(TokenCutoff) private readonly tokenCutoffs: Repository<TokenCutoff>,
    @InjectRepository(RevocationLogEntry) private readonly revocationLog: Repository<RevocationLogEntry>,
  ) {}

  async purgeExpired(now: Date): Promise<AuthPurgeCounts> {
    const ago = (offsetMs: number) => new Date(now.getTime() - offsetMs);
    const deleted = async (result: Promise<{ affected?: number | null }>) => (await result).affected ?? 0;
    // Kept past expiry for the reuse window, so a late replay still reads as reuse.
    const refreshTokens = await this.refreshTokens.purgeExpired(ago(REFRESH_REUSE_WINDOW_MS));
    const personalTokens = await this.personalTokens.purgeExpired(now);
    const sessions = await this.sessions.purgeExpired(now);
    // Beyond the verifier's clock margin, so nothing a verifier may still accept loses its revocation.
    const revokedAccessTokens = await deleted(
      this.revokedAccessTokens.delete({ expiresAt: LessThan(ago(CLOCK_MARGIN_MS)) }),
    );
    // A cut-off must outlive every token and grant it can kill (first-party and OAuth access
    // tokens, OAuth refresh tokens): the horizon RevocationService keeps it in memory for.
    const cutoffAge = this.config.auth.revocationHorizonSeconds * 1000 + CLOCK_MARGIN_MS + CUTOFF_ROW_SLACK_MS;
    const tokenCutoffs = await deleted(this.tokenCutoffs.delete({ tokensValidAfter: LessThan(ago(cutoffAge)) }));
    const revocationLog = await deleted(this.revocationLog.delete({ at: LessThan(ago(REVOCATION_LOG_KEPT_MS)) }));
    return { refreshTokens, personalTokens, sessions, revokedAccessTokens, tokenCutoffs, revocationLog };
  }
}

/** The purge alone (no HTTP, no Redis, no users), so the `tokens:purge` command can boot it. */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      RefreshToken,
      PersonalToken,
      Session,
      RevokedAccessToken,
      TokenCutoff,
      RevocationLogEntry,
    ]),
  ],
  providers: [RefreshTokensRepository, PersonalTokensRepository, SessionsRepository, AuthRetention],
  exports: [AuthRetention],
})
export class AuthRetentionModule {}

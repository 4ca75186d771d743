import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, type Repository } from 'typeorm';
import { AppConfig } from '../../../config/app-config.js';
import { RefreshToken } from '../../auth/refresh/refresh-token.entity.js';
import { RevokedAccessToken } from '../../auth/revocation/revoked-access-token.entity.js';
import { TokenCutoff } from '../../auth/revocation/token-cutoff.entity.js';
import { Session } from '../../auth/sessions/session.entity.js';
import { PersonalToken } from '../../auth/tokens/personal-token.entity.js';
import { OAuthModel } from '../../oauth/oauth-model.entity.js';
import { AuditEventsRepository } from '../audit-events.repository.js';

const DAY_MS = 86_400_000;
/** Beyond the JWT verifier's clock leeway, so nothing a verifier may still accept loses its revocation. */
const CLOCK_MARGIN_MS = 60_000;

/** Rows removed by one purge, per kind; `auditEvents` is null when AUDIT_RETENTION is unset. */
export interface PurgeCounts {
  refreshTokens: number;
  personalTokens: number;
  sessions: number;
  revokedAccessTokens: number;
  tokenCutoffs: number;
  /** Expired codes, tokens, grants and sessions of the OAuth authorization server. */
  oauthModels: number;
  auditEvents: number | null;
}

/**
 * Deletes what can no longer matter (the cleartokens / flushexpiredtokens of this server):
 * expired credentials, revocations of tokens that expired on their own, and audit events
 * past AUDIT_RETENTION. Each kind is one DELETE; running it twice, or on several instances
 * at once, is harmless.
 */
@Injectable()
export class RetentionService {
  constructor(
    private readonly config: AppConfig,
    private readonly auditEvents: AuditEventsRepository,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    @InjectRepository(PersonalToken) private readonly personalTokens: Repository<PersonalToken>,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectRepository(RevokedAccessToken) private readonly revokedAccessTokens: Repository<RevokedAccessToken>,
    @InjectRepository(TokenCutoff) private readonly tokenCutoffs: Repository<TokenCutoff>,
    @InjectRepository(OAuthModel) private readonly oauthModels: Repository<OAuthModel>,
  ) {}

  async purgeExpired(now = new Date()): Promise<PurgeCounts> {
    const at = (offsetMs: number) => new Date(now.getTime() - offsetMs);
    const deleted = async (result: Promise<{ affected?: number | null }>) => (await result).affected ?? 0;
    // A refresh token is kept a day past its expiry, so a late replay still reads as reuse.
    const refreshTokens = await deleted(this.refreshTokens.delete({ expiresAt: LessThan(at(DAY_MS)) }));
    const personalTokens = await deleted(this.personalTokens.delete({ expiresAt: LessThan(now) }));
    const sessions = await deleted(this.sessions.delete({ expiresAt: LessThan(now) }));
    const revokedAccessTokens = await deleted(
      this.revokedAccessTokens.delete({ expiresAt: LessThan(at(CLOCK_MARGIN_MS)) }),
    );
    // Every token issued before such a cutoff has expired by now: the cutoff kills nothing more.
    const cutoffAge = this.config.auth.accessTtlSeconds * 1000 + CLOCK_MARGIN_MS;
    const tokenCutoffs = await deleted(this.tokenCutoffs.delete({ tokensValidAfter: LessThan(at(cutoffAge)) }));
    // Kept a day past expiry like refresh tokens, so a late replay of a rotated one still reads as reuse.
    const oauthModels = await deleted(this.oauthModels.delete({ expiresAt: LessThan(at(DAY_MS)) }));
    const retention = this.config.retention.auditSeconds;
    const auditEvents = retention === undefined ? null : await this.auditEvents.purgeBefore(at(retention * 1000));
    return { refreshTokens, personalTokens, sessions, revokedAccessTokens, tokenCutoffs, oauthModels, auditEvents };
  }
}

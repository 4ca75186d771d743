import { Injectable } from '@nestjs/common';
import { AuditRetention } from '../audit/audit-retention.js';
import { AuthRetention, type AuthPurgeCounts } from '../auth/retention/auth-retention.js';
import { OAuthRetention } from '../oauth/oauth-retention.js';

/** Rows removed by one purge, per kind; `auditEvents` is null when AUDIT_RETENTION is unset. */
export interface PurgeCounts extends AuthPurgeCounts {
  /** Expired codes, tokens, grants and sessions of the OAuth authorization server. */
  oauthModels: number;
  auditEvents: number | null;
}

/**
 * Deletes what can no longer matter (the cleartokens / flushexpiredtokens of this server) by
 * asking each module that owns rows to purge its own: auth its credentials and revocations,
 * oauth its models, audit the events past AUDIT_RETENTION. Only the order is decided here.
 */
@Injectable()
export class RetentionService {
  constructor(
    private readonly auth: AuthRetention,
    private readonly oauth: OAuthRetention,
    private readonly audit: AuditRetention,
  ) {}

  async purgeExpired(now = new Date()): Promise<PurgeCounts> {
    const auth = await this.auth.purgeExpired(now);
    const oauthModels = await this.oauth.purgeExpired(now);
    const auditEvents = await this.audit.purgeExpired(now);
    return { ...auth, oauthModels, auditEvents };
  }
}

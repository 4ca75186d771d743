import { Injectable } from '@nestjs/common';
import { ApiKeysRetention } from '../api-keys/api-keys-retention.js';
import { AuditRetention } from '../audit/audit-retention.js';
import { AuthRetention, type AuthPurgeCounts } from '../auth/retention/auth-retention.js';
import { OAuthRetention } from '../oauth/oauth-retention.js';

/** Rows removed by one purge, per kind; `auditEvents` is null when AUDIT_RETENTION is unset. */
export interface PurgeCounts extends AuthPurgeCounts {
  /** Expired codes, tokens, grants and sessions of the OAuth authorization server. */
  oauthModels: number;
  /** Address buckets of API keys not seen for API_KEY_ADDRESS_RETENTION, or past the cap per key. */
  apiKeyAddresses: number;
  auditEvents: number | null;
}

/**
 * Deletes what can no longer matter (the cleartokens / flushexpiredtokens of this server) by
 * asking each module that owns rows to purge its own: auth its credentials and revocations,
 * oauth its models, api-keys the addresses keys were no longer seen from, audit the events past
 * AUDIT_RETENTION. Only the order is decided here.
 */
@Injectable()
export class RetentionService {
  constructor(
    private readonly auth: AuthRetention,
    private readonly oauth: OAuthRetention,
    private readonly apiKeys: ApiKeysRetention,
    private readonly audit: AuditRetention,
  ) {}

  async purgeExpired(now = new Date()): Promise<PurgeCounts> {
    const auth = await this.auth.purgeExpired(now);
    const oauthModels = await this.oauth.purgeExpired(now);
    const apiKeyAddresses = await this.apiKeys.purgeAddresses(now);
    const auditEvents = await this.audit.purgeExpired(now);
    return { ...auth, oauthModels, apiKeyAddresses, auditEvents };
  }
}

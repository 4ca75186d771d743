import { Module, type DynamicModule } from '@nestjs/common';
import { ApiKeysRetentionModule } from '../api-keys/api-keys-retention.js';
import { AuditRetentionModule } from '../audit/audit-retention.js';
import { AuthRetentionModule } from '../auth/retention/auth-retention.js';
import { OAuthRetentionModule } from '../oauth/oauth-retention.js';
import { RetentionScheduler } from './retention.scheduler.js';
import { RetentionService } from './retention.service.js';

/**
 * The purge alone (no schedule, no HTTP), so `npm run cli -- tokens:purge` can boot it;
 * `scheduled()` adds the RetentionScheduler the server runs.
 */
@Module({
  imports: [AuthRetentionModule, OAuthRetentionModule, ApiKeysRetentionModule, AuditRetentionModule],
  providers: [RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {
  static scheduled(): DynamicModule {
    return { module: RetentionModule, providers: [RetentionScheduler] };
  }
}

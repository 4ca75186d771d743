import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RefreshToken } from '../../auth/refresh/refresh-token.entity.js';
import { RevokedAccessToken } from '../../auth/revocation/revoked-access-token.entity.js';
import { TokenCutoff } from '../../auth/revocation/token-cutoff.entity.js';
import { Session } from '../../auth/sessions/session.entity.js';
import { PersonalToken } from '../../auth/tokens/personal-token.entity.js';
import { OAuthModel } from '../../oauth/oauth-model.entity.js';
import { AuditEvent } from '../audit-event.entity.js';
import { AuditEventsRepository } from '../audit-events.repository.js';
import { RetentionService } from './retention.service.js';

/**
 * The purge alone (no schedule, no HTTP), so `npm run cli -- tokens:purge` can boot it; the
 * audit module adds the RetentionScheduler in the server.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      RefreshToken,
      PersonalToken,
      Session,
      RevokedAccessToken,
      TokenCutoff,
      OAuthModel,
      AuditEvent,
    ]),
  ],
  providers: [AuditEventsRepository, RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}

import { Injectable, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OAuthModel } from './oauth-model.entity.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';

/** Kept a day past expiry, like refresh tokens, so a late replay of a rotated one still reads as reuse. */
const REUSE_WINDOW_MS = 86_400_000;

/** Deletes the authorization server's expired codes, tokens, grants and sessions, through its repository. */
@Injectable()
export class OAuthRetention {
  constructor(private readonly models: OAuthModelsRepository) {}

  purgeExpired(now: Date): Promise<number> {
    return this.models.purgeExpired(new Date(now.getTime() - REUSE_WINDOW_MS));
  }
}

/** The purge alone (no provider, no HTTP), so the `tokens:purge` command can boot it. */
@Module({
  imports: [TypeOrmModule.forFeature([OAuthModel])],
  providers: [OAuthModelsRepository, OAuthRetention],
  exports: [OAuthRetention],
})
export class OAuthRetentionModule {}

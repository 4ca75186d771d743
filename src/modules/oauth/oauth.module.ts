import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { UsersModule } from '../users/users.module.js';
import { OAuthClient } from './clients/oauth-client.entity.js';
import { OAuthClientsController } from './clients/oauth-clients.controller.js';
import { OAuthClientsRepository } from './clients/oauth-clients.repository.js';
import { OAuthClientsService } from './clients/oauth-clients.service.js';
import { DpopProofs } from './dpop/dpop-proofs.js';
import { DpopReplayCache } from './dpop/dpop-replay-cache.js';
import { OAuthInteractions } from './interactions/oauth-interactions.js';
import { OAuthPages } from './interactions/oauth-pages.js';
import { OAuthModel } from './oauth-model.entity.js';
import { OAuthModelsRepository } from './oauth-models.repository.js';
import { OAuthProviderService } from './oauth-provider.service.js';
import { OAuthGrantCredentialSource } from './oauth-grant-credential-source.js';
import { OAuthRevocationListener } from './oauth-revocation.listener.js';
import { OAuthStrategy } from './oauth.strategy.js';

/**
 * The OAuth 2.0 authorization server (oidc-provider under /oauth, mounted by mountOAuth),
 * its clients API, and the 'oauth' credential that lets its tokens into /api/v1.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OAuthModel, OAuthClient]), AuthModule, UsersModule],
  controllers: [OAuthClientsController],
  providers: [
    OAuthModelsRepository,
    OAuthClientsRepository,
    OAuthClientsService,
    OAuthPages,
    OAuthProviderService,
    OAuthInteractions,
    OAuthStrategy,
    DpopProofs,
    DpopReplayCache,
    OAuthRevocationListener,
    OAuthGrantCredentialSource,
  ],
  exports: [OAuthModelsRepository],
})
export class OAuthModule {}

import { Module } from '@nestjs/common';
import { ApiKeyCredentialSource } from './api-key-credential-source.js';
import { ApiKeyLifecycleListener } from './api-key-lifecycle.listener.js';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module.js';
import { UsersModule } from '../users/users.module.js';
import { ApiKeyAddress } from './api-key-address.entity.js';
import { ApiKeyAddressMonitor } from './api-key-address-monitor.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeyStrategy } from './api-key.strategy.js';
import { ApiKeysController } from './api-keys.controller.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, ApiKeyAddress]), AuthModule, UsersModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    ApiKeyAddressMonitor,
    ApiKeyStrategy,
    ApiKeyLifecycleListener,
    ApiKeyCredentialSource,
  ],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}

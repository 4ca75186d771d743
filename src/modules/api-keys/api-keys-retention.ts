import { Injectable, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config.js';
import { ApiKeyAddress } from './api-key-address.entity.js';
import { ApiKey } from './api-key.entity.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/**
 * The most address buckets one key keeps. A key used by its owner's fleet stays far below; a
 * leaked key run from a botnet would otherwise add a row per bot for the whole retention
 * window. Past the cap the least recently seen go, so the addresses it is used from now stay
 * (and a dropped one seen again alerts again, within the per-key alert limit).
 */
const MAX_ADDRESSES_PER_KEY = 1_000;
/** Rows per DELETE: each statement is short, whatever a purge has to remove. */
const PURGE_BATCH = 5_000;

/**
 * Deletes the address buckets of API keys not seen for API_KEY_ADDRESS_RETENTION, and those
 * past the cap per key, always keeping each key's most recent one (ApiKeysRepository).
 */
@Injectable()
export class ApiKeysRetention {
  constructor(
    private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
  ) {}

  purgeAddresses(now: Date): Promise<number> {
    return this.keys.purgeAddresses({
      unseenSince: new Date(now.getTime() - this.config.retention.apiKeyAddressSeconds * 1000),
      perKey: MAX_ADDRESSES_PER_KEY,
      batch: PURGE_BATCH,
    });
  }
}

/** The purge alone (no strategy, no monitor, no HTTP), so the `tokens:purge` command can boot it. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, ApiKeyAddress])],
  providers: [ApiKeysRepository, ApiKeysRetention],
  exports: [ApiKeysRetention],
})
export class ApiKeysRetentionModule {}

import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import { ApiKey } from './api-key.entity.js';

/**
 * An address bucket an API key was used from, as `addressBucket` writes it; one row per key and
 * address, purged once not seen for API_KEY_ADDRESS_RETENTION (ApiKeysRetention).
 */
@Entity({ name: 'api_key_addresses' })
export class ApiKeyAddress {
  @ForeignKey(() => ApiKey, { name: 'api_key_addresses_key_id_fkey', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'api_key_addresses_pkey' })
  keyId: string;

  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'api_key_addresses_pkey' })
  address: string;

  @Column({ name: 'first_seen_at', type: 'timestamptz', default: () => 'now()' })
  firstSeenAt: Date;

  /** Refreshed at most once a day per pair (ApiKeyAddressMonitor), so it may lag up to two days. */
  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;
}

import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import { ApiKey } from './api-key.entity.js';

/** An address an API key was used from, as `canonicalAddress` writes it; one row per key and address. */
@Entity({ name: 'api_key_addresses' })
export class ApiKeyAddress {
  @ForeignKey(() => ApiKey, { name: 'api_key_addresses_key_id_fkey', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'api_key_addresses_pkey' })
  keyId: string;

  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'api_key_addresses_pkey' })
  address: string;

  @Column({ name: 'first_seen_at', type: 'timestamptz', default: () => 'now()' })
  firstSeenAt: Date;
}

import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { Permission } from '../../common/auth/permission.js';
import { User } from '../users/user.entity.js';

/** An API key: the prefix is public (lookup, listings); only a keyed hash of the secret is kept. */
@Entity({ name: 'api_keys' })
@Unique('api_keys_prefix_key', ['prefix'])
@Check('api_keys_rate_limit_positive', 'rate_limit_per_minute > 0')
@Index('api_keys_user_created', ['userId', 'createdAt', 'id'])
@Index('api_keys_created', ['createdAt', 'id'])
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ForeignKey(() => User, { name: 'api_keys_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 32 })
  prefix: string;

  /** HMAC-SHA-256 of the secret under the server's pepper. */
  @Column({ name: 'secret_hash', type: 'bytea' })
  secretHash: Buffer;

  @Column({ type: 'text', array: true })
  scopes: Permission[];

  @Column({ name: 'rate_limit_per_minute', type: 'integer' })
  rateLimitPerMinute: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => "date_trunc('milliseconds', now())" })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'last_used_ip', type: 'varchar', length: 64, nullable: true })
  lastUsedIp: string | null;

  /** Where the credential was created from (address, user agent), for the credential inventory. */
  @Column({ name: 'created_ip', type: 'varchar', length: 64, nullable: true })
  createdIp: string | null;

  @Column({ name: 'created_user_agent', type: 'varchar', length: 256, nullable: true })
  createdUserAgent: string | null;

  /** The credential that created this one (a session or access-token id): the inventory's lineage. */
  @Column({ name: 'created_by', type: 'varchar', length: 64, nullable: true })
  createdBy: string | null;
}

import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** A personal token (DRF's TokenAuthentication, many per user); only its SHA-256 is stored. */
@Entity({ name: 'personal_tokens' })
@Unique('personal_tokens_token_hash_key', ['tokenHash'])
export class PersonalToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('personal_tokens_user_id')
  @ForeignKey(() => User, { name: 'personal_tokens_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  /** Where the credential was created from (address, user agent), for the credential inventory. */
  @Column({ name: 'created_ip', type: 'varchar', length: 64, nullable: true })
  createdIp: string | null;

  @Column({ name: 'created_user_agent', type: 'varchar', length: 256, nullable: true })
  createdUserAgent: string | null;

  /** The credential that created this one (a session or access-token id): the inventory's lineage. */
  @Column({ name: 'created_by', type: 'varchar', length: 64, nullable: true })
  createdBy: string | null;
}

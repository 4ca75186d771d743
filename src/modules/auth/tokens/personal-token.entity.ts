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
}

import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

export type AccountTokenPurpose = 'verify-email' | 'change-email' | 'reset-password';

/**
 * A token sent by mail (email proof, email change, password reset): 256 random bits, only
 * the SHA-256 stored, single use, short-lived. It also names what it was issued for, so it
 * dies when that changes: the email it proves, and for a reset the password it replaces.
 */
@Entity({ name: 'account_tokens' })
@Unique('account_tokens_token_hash_key', ['tokenHash'])
@Index('account_tokens_user_purpose', ['userId', 'purpose'])
@Check('account_tokens_purpose_known', `purpose IN ('verify-email', 'change-email', 'reset-password')`)
export class AccountToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ForeignKey(() => User, { name: 'account_tokens_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 20 })
  purpose: AccountTokenPurpose;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  /** The address the token proves (the new one, for a change); for a reset, the account's address then. */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  /** Reset only: the user's credentials epoch at issue; a password change moves it on, and the token dies. */
  @Column({ name: 'credentials_epoch', type: 'integer', nullable: true })
  credentialsEpoch: number | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Index('account_tokens_expires_at')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

import { Column, Entity, ForeignKey, Index, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** A user's TOTP factor; pending until a first code confirms it. */
@Entity({ name: 'mfa_totp_factors' })
export class TotpFactor {
  @ForeignKey(() => User, { name: 'mfa_totp_factors_user_id_fkey', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** The shared secret, sealed with MFA_ENCRYPTION_KEY (AES-256-GCM): a database dump alone mints no codes. */
  @Column({ name: 'secret_sealed', type: 'bytea' })
  secretSealed: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'confirmed_at', type: 'timestamptz', nullable: true })
  confirmedAt: Date | null;

  /**
   * The newest 30-second step a code was accepted for. A code is accepted only for a later
   * step, by one conditional UPDATE: a replay is refused on every instance, whatever the cache.
   */
  @Column({ name: 'last_used_step', type: 'bigint', nullable: true })
  lastUsedStep: string | null;
}

/** One recovery code; only its SHA-256 is kept (the code has 80 random bits). */
@Entity({ name: 'mfa_recovery_codes' })
@Unique('mfa_recovery_codes_code_hash_key', ['userId', 'codeHash'])
export class RecoveryCode {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ForeignKey(() => User, { name: 'mfa_recovery_codes_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'code_hash', type: 'bytea' })
  codeHash: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

/** Which sign-in an mfaToken continues: it finishes that one and no other. */
export const MFA_PURPOSES = ['login', 'session', 'oauth'] as const;
export type MfaPurpose = (typeof MFA_PURPOSES)[number];

/** A sign-in whose password checked out, waiting for its second factor (the mfaToken). */
@Entity({ name: 'mfa_challenges' })
@Unique('mfa_challenges_token_hash_key', ['tokenHash'])
export class MfaChallenge {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  @ForeignKey(() => User, { name: 'mfa_challenges_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  purpose: MfaPurpose;

  /** The account's credentials epoch at the password check: a change since voids the sign-in. */
  @Column({ name: 'credentials_epoch', type: 'integer' })
  credentialsEpoch: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Index('mfa_challenges_expires_at')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

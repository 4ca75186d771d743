import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** One refresh token of a login's family; only its SHA-256 is stored. */
@Entity({ name: 'refresh_tokens' })
@Unique('refresh_tokens_token_hash_key', ['tokenHash'])
export class RefreshToken {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Every token rotated from one login shares it; reuse of any revokes them all. */
  @Index('refresh_tokens_family_id')
  @Column({ name: 'family_id', type: 'uuid' })
  familyId: string;

  @Index('refresh_tokens_user_id')
  @ForeignKey(() => User, { name: 'refresh_tokens_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** The access token issued with this refresh token: it dies with the family. */
  @Column({ name: 'access_jti', type: 'uuid', nullable: true })
  accessJti: string | null;

  @Column({ name: 'access_expires_at', type: 'timestamptz', nullable: true })
  accessExpiresAt: Date | null;

  /** Where the credential was created from (address, user agent), for the credential inventory. */
  @Column({ name: 'created_ip', type: 'varchar', length: 64, nullable: true })
  createdIp: string | null;

  @Column({ name: 'created_user_agent', type: 'varchar', length: 256, nullable: true })
  createdUserAgent: string | null;

  /** When the user last proved who they are for this credential (RFC 9470 auth_time): sign-in or step-up. */
  @Column({ name: 'auth_time', type: 'timestamptz', default: () => 'now()' })
  authTime: Date;

  /** How they proved it (RFC 8176 amr: pwd, otp, mfa, hwk, swk). */
  @Column({ type: 'varchar', length: 16, array: true, default: () => "'{pwd}'" })
  amr: string[];
}

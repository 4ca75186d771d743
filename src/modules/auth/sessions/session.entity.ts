import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** A browser session; the cookie holds the secret `sid`, the table only its SHA-256. */
@Entity({ name: 'sessions' })
@Unique('sessions_sid_hash_key', ['sidHash'])
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'sid_hash', type: 'bytea' })
  sidHash: Buffer;

  @Index('sessions_user_id')
  @ForeignKey(() => User, { name: 'sessions_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;

  /** The absolute end, whatever the activity. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

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

import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../../common/auth/roles.js';

// Names match the SQL migration, so `migration:generate` sees no drift.
@Entity({ name: 'users' })
@Index('users_created', ['createdAt', 'id'])
@Check('users_roles_known', `roles <@ ARRAY['user','staff','admin']::text[]`)
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Normalized (NFKC, lower case) so look-alike spellings of one address collide. */
  @Index('users_email_key', { unique: true })
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100 })
  displayName: string;

  /** argon2id PHC string; never leaves the users module. */
  @Column({ name: 'password_hash', type: 'text' })
  passwordHash: string;

  @Column({ type: 'text', array: true, default: () => `'{user}'` })
  roles: Role[];

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', default: () => "date_trunc('milliseconds', now())" })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  /** When the current email was proved by mail; null: not proved (see EMAIL_VERIFICATION). */
  @Column({ name: 'email_verified_at', type: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null;

  /**
   * Bumped by every change that ends credentials (password, deactivation, sign-out
   * everywhere). A sign-in reads it with the password and issues only if it is unchanged
   * under a row lock, so a sign-in that straddles such a change gets nothing.
   */
  @Column({ name: 'credentials_epoch', type: 'integer', default: 0 })
  credentialsEpoch: number;
}

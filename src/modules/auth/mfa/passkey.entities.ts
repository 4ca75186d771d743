import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** A WebAuthn credential of a user: a sign-in by itself (user verification), and a second factor. */
@Entity({ name: 'passkeys' })
@Unique('passkeys_credential_id_key', ['credentialId'])
export class Passkey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('passkeys_user_id')
  @ForeignKey(() => User, { name: 'passkeys_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  /** The authenticator's credential id, base64url. */
  @Column({ name: 'credential_id', type: 'varchar', length: 1024 })
  credentialId: string;

  /** COSE public key. */
  @Column({ name: 'public_key', type: 'bytea' })
  publicKey: Buffer;

  /** The signature counter last seen: a later assertion must carry a higher one (or both stay 0). */
  @Column({ type: 'bigint' })
  counter: string;

  @Column({ type: 'varchar', length: 16, array: true, default: () => "'{}'" })
  transports: string[];

  /** singleDevice or multiDevice (backup eligibility): fixed for the credential's life. */
  @Column({ name: 'device_type', type: 'varchar', length: 16 })
  deviceType: string;

  @Column({ name: 'backed_up', type: 'boolean' })
  backedUp: boolean;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'created_ip', type: 'varchar', length: 64, nullable: true })
  createdIp: string | null;

  @Column({ name: 'created_user_agent', type: 'varchar', length: 256, nullable: true })
  createdUserAgent: string | null;
}

/** A registration or authentication ceremony's challenge: stored server-side, used once. */
@Entity({ name: 'webauthn_challenges' })
@Unique('webauthn_challenges_challenge_key', ['challenge'])
export class WebAuthnChallenge {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 128 })
  challenge: string;

  @Column({ type: 'varchar', length: 16 })
  purpose: 'registration' | 'authentication';

  /** Registration: the user registering. Authentication: none (discoverable credentials). */
  @ForeignKey(() => User, { name: 'webauthn_challenges_user_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  @Index('webauthn_challenges_expires_at')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;
}

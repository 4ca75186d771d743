import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { Permission } from '../../../common/auth/permission.js';
import { User } from '../../users/user.entity.js';

export const OAUTH_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type OAuthGrantType = (typeof OAUTH_GRANT_TYPES)[number];

/** A registered OAuth client. Only a SHA-256 of a confidential client's secret is kept. */
@Entity({ name: 'oauth_clients' })
@Index('oauth_clients_created', ['createdAt', 'clientId'])
export class OAuthClient {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 64, primaryKeyConstraintName: 'oauth_clients_pkey' })
  clientId: string;

  /** Who registered it: a client-credentials token acts for this user. */
  @ForeignKey(() => User, { name: 'oauth_clients_user_id_fkey', onDelete: 'CASCADE' })
  @Index('oauth_clients_user_id')
  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  /** Hex SHA-256 of the secret; null for a public client. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64, nullable: true })
  secretHash: string | null;

  @Column({ name: 'redirect_uris', type: 'text', array: true })
  redirectUris: string[];

  @Column({ name: 'grant_types', type: 'text', array: true })
  grantTypes: OAuthGrantType[];

  @Column({ type: 'text', array: true })
  scopes: Permission[];

  @Column({ name: 'is_public', type: 'boolean' })
  isPublic: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => "date_trunc('milliseconds', now())" })
  createdAt: Date;
}

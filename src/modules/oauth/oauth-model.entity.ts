import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Every artifact of the authorization server (codes, tokens, grants, sessions, interactions),
 * one row each, as oidc-provider's adapter contract stores them: the payload is its own,
 * the other columns are what it looks rows up by or what cleanup needs.
 */
@Entity({ name: 'oauth_models' })
@Index('oauth_models_grant_id', ['grantId'])
@Index('oauth_models_client_id', ['clientId'])
@Index('oauth_models_account_id', ['accountId'])
@Index('oauth_models_uid', ['uid'])
@Index('oauth_models_expires_at', ['expiresAt'])
export class OAuthModel {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'oauth_models_pkey' })
  model: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'oauth_models_pkey' })
  id: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ name: 'grant_id', type: 'varchar', length: 255, nullable: true })
  grantId: string | null;

  /** Deleting a client deletes every row it holds by this. */
  @Column({ name: 'client_id', type: 'varchar', length: 255, nullable: true })
  clientId: string | null;

  /** A password change, deactivation or deletion deletes every row of the user by this. */
  @Column({ name: 'account_id', type: 'varchar', length: 255, nullable: true })
  accountId: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  uid: string | null;

  @Column({ name: 'user_code', type: 'varchar', length: 255, nullable: true })
  userCode: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt: Date | null;
}

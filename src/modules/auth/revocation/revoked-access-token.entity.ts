import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One access token revoked before its expiry (logout); kept until it would have expired. */
@Entity({ name: 'revoked_access_tokens' })
export class RevokedAccessToken {
  @PrimaryColumn('uuid')
  jti: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Index('revoked_access_tokens_expires_at')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}

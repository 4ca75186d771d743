import { Column, Entity, ForeignKey, PrimaryColumn } from 'typeorm';
import { User } from '../../users/user.entity.js';

/** A device (user agent) or address (its /64 for IPv6) a user signed in from; digests only. */
@Entity({ name: 'sign_in_origins' })
export class SignInOrigin {
  @ForeignKey(() => User, { name: 'sign_in_origins_user_id_fkey', onDelete: 'CASCADE' })
  @PrimaryColumn({ name: 'user_id', type: 'uuid', primaryKeyConstraintName: 'sign_in_origins_pkey' })
  userId: string;

  @PrimaryColumn({ type: 'varchar', length: 10, primaryKeyConstraintName: 'sign_in_origins_pkey' })
  kind: 'address' | 'device';

  @PrimaryColumn({ type: 'bytea', primaryKeyConstraintName: 'sign_in_origins_pkey' })
  digest: Buffer;

  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;
}

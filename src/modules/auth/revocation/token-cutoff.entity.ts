import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Per user: access tokens issued before `tokensValidAfter` are dead. Outlives the user row. */
@Entity({ name: 'token_cutoffs' })
export class TokenCutoff {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'tokens_valid_after', type: 'timestamptz' })
  tokensValidAfter: Date;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Per user: access tokens issued before `tokensValidAfter` are dead. Outlives the user row. */
@Entity({ name: 'token_cutoffs' })
export class TokenCutoff {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'tokens_valid_after', type: 'timestamptz' })
  tokensValidAfter: Date;

  /**
   * Bumped by every cut-off. A first-party access token carries the generation it was issued
   * in (read under the user's row lock) and is dead once the generation moves past it: exact,
   * where comparing a whole-second `iat` with the cut-off's instant is not.
   */
  @Column({ type: 'integer', default: 0 })
  generation: number;
}

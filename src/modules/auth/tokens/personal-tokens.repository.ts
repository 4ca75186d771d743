import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, LessThan, type EntityManager, type Repository } from 'typeorm';
import { newestFirst, type Keyset } from '../../../db/keyset.js';
import { CredentialLimitError } from '../credentials/attenuation.js';
import { PersonalToken } from './personal-token.entity.js';

export type NewPersonalToken = Pick<
  PersonalToken,
  'userId' | 'name' | 'tokenHash' | 'expiresAt' | 'createdIp' | 'createdUserAgent' | 'createdBy'
>;

@Injectable()
export class PersonalTokensRepository {
  constructor(
    @InjectRepository(PersonalToken) private readonly tokens: Repository<PersonalToken>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Inserts the token unless the user already holds `limit` live ones. The owner's live tokens
   * are counted under a per-user advisory lock, so parallel requests cannot all pass the count.
   */
  insertWithinLimit(token: NewPersonalToken, limit: number): Promise<PersonalToken> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('personal_tokens:' || $1, 0))`, [
        token.userId,
      ]);
      const [{ live }] = (await manager.query(
        `SELECT count(*)::int AS live FROM personal_tokens WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > now())`,
        [token.userId],
      )) as [{ live: number }];
      if (live >= limit) throw new CredentialLimitError(`You hold ${live} personal tokens, the most allowed.`);
      return manager.save(manager.create(PersonalToken, token));
    });
  }

  findByHash(tokenHash: Buffer): Promise<PersonalToken | null> {
    return this.tokens.findOneBy({ tokenHash });
  }

  /** A page of the user's tokens, newest first, from after `after`. */
  list(userId: string, limit: number, after?: Keyset): Promise<PersonalToken[]> {
    const query = this.tokens.createQueryBuilder('t').where('t.user_id = :userId', { userId });
    return newestFirst(query, ['t.created_at', 't.id'], limit, after).getMany();
  }

  listOfUser(userId: string): Promise<PersonalToken[]> {
    return this.tokens.find({ where: { userId }, order: { createdAt: 'DESC' } });
  }

  async deleteOfUser(manager: EntityManager, userId: string, id: string): Promise<boolean> {
    return (await manager.delete(PersonalToken, { id, userId })).affected === 1;
  }

  /** The ids of the tokens deleted, so that each can be revoked from every cache. */
  async deleteAllOfUser(manager: EntityManager, userId: string): Promise<string[]> {
    const [rows] = (await manager.query(`DELETE FROM personal_tokens WHERE user_id = $1 RETURNING id`, [userId])) as [
      { id: string }[],
      number,
    ];
    return rows.map((row) => row.id);
  }

  async recordUse(id: string, at: Date): Promise<void> {
    await this.tokens.update({ id }, { lastUsedAt: at });
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.tokens.delete({ expiresAt: LessThan(before) })).affected ?? 0;
  }
}

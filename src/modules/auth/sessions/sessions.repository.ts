import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, LessThan, Not, type Repository } from 'typeorm';
import { Session } from './session.entity.js';

@Injectable()
export class SessionsRepository {
  constructor(@InjectRepository(Session) private readonly sessions: Repository<Session>) {}

  findBySidHash(sidHash: Buffer): Promise<Session | null> {
    return this.sessions.findOneBy({ sidHash });
  }

  insert(
    manager: EntityManager,
    session: Pick<Session, 'sidHash' | 'userId' | 'expiresAt' | 'createdIp' | 'createdUserAgent' | 'authTime' | 'amr'>,
  ): Promise<Session> {
    return manager.save(manager.create(Session, session));
  }

  async deleteBySidHash(sidHash: Buffer): Promise<void> {
    await this.sessions.delete({ sidHash });
  }

  async delete(id: string): Promise<void> {
    await this.sessions.delete({ id });
  }

  async deleteOfUser(userId: string, id: string): Promise<boolean> {
    return (await this.sessions.delete({ id, userId })).affected === 1;
  }

  async recordProof(id: string, authTime: Date, amr: string[]): Promise<void> {
    await this.sessions.update({ id }, { authTime, amr });
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.sessions.update({ id }, { lastSeenAt: at });
  }

  /** Ends every session of the user but `keepId`, in the caller's transaction. */
  async endAllOfUser(manager: EntityManager, userId: string, keepId?: string): Promise<void> {
    await manager.delete(Session, keepId ? { userId, id: Not(keepId) } : { userId });
  }

  /**
   * Ends the user's sessions but the `keep` newest, in the caller's transaction, under a
   * per-user lock that it holds to its end: of two sign-ins racing, the second trims after the
   * first committed, its statement then seeing both new rows.
   */
  async endOldestOfUser(manager: EntityManager, userId: string, keep: number): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('sessions:' || $1, 0))`, [userId]);
    await manager.query(
      `DELETE FROM sessions WHERE user_id = $1 AND id IN
         (SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id OFFSET $2)`,
      [userId, keep],
    );
  }

  liveOfUser(userId: string): Promise<Session[]> {
    return this.sessions.find({ where: { userId }, order: { createdAt: 'DESC' } });
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.sessions.delete({ expiresAt: LessThan(before) })).affected ?? 0;
  }
}

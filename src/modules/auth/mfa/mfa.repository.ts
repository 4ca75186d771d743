import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, IsNull, type Repository } from 'typeorm';
import { MfaChallenge, RecoveryCode, TotpFactor, type MfaPurpose } from './mfa.entities.js';

/** More than one, so expired rows are cleared faster than new ones arrive. */
const EXPIRED_PER_INSERT = 10;

/** Every query on second factors and pending second steps. */
@Injectable()
export class MfaRepository {
  constructor(
    @InjectRepository(TotpFactor) private readonly totp: Repository<TotpFactor>,
    @InjectRepository(RecoveryCode) private readonly recovery: Repository<RecoveryCode>,
    @InjectRepository(MfaChallenge) private readonly challenges: Repository<MfaChallenge>,
  ) {}

  /** `manager`: inside a transaction, read through it (the embedded database has one connection). */
  findTotp(userId: string, manager?: EntityManager): Promise<TotpFactor | null> {
    return manager ? manager.findOneBy(TotpFactor, { userId }) : this.totp.findOneBy({ userId });
  }

  /** A new pending factor, replacing a pending one; false when a confirmed factor exists. */
  async savePendingTotp(userId: string, secretSealed: Buffer): Promise<boolean> {
    const rows: unknown[] = await this.totp.query(
      `INSERT INTO mfa_totp_factors (user_id, secret_sealed) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_used_step = NULL
       WHERE mfa_totp_factors.confirmed_at IS NULL
       RETURNING user_id`,
      [userId, secretSealed],
    );
    return rows.length === 1;
  }

  /**
   * Accepts `step` for the user's factor if it is later than any accepted before: one
   * conditional UPDATE, so of two requests with one code (on any instance) exactly one wins.
   * `confirming`: the first code of a pending factor, which the factor then becomes live with.
   */
  async acceptStep(manager: EntityManager, userId: string, step: number, confirming: boolean): Promise<boolean> {
    const [rows] = (await manager.query(
      `UPDATE mfa_totp_factors
       SET last_used_step = $2, confirmed_at = COALESCE(confirmed_at, now())
       WHERE user_id = $1 AND (confirmed_at IS ${confirming ? '' : 'NOT '}NULL)
         AND (last_used_step IS NULL OR last_used_step < $2)
       RETURNING user_id`,
      [userId, step],
    )) as [unknown[], number];
    return rows.length === 1;
  }

  async deleteTotp(manager: EntityManager, userId: string): Promise<boolean> {
    return ((await manager.delete(TotpFactor, { userId })).affected ?? 0) > 0;
  }

  /** The old set dies with the new one, in the caller's transaction. */
  async replaceRecoveryCodes(manager: EntityManager, userId: string, hashes: Buffer[]): Promise<void> {
    await manager.delete(RecoveryCode, { userId });
    await manager.insert(
      RecoveryCode,
      hashes.map((codeHash) => ({ userId, codeHash })),
    );
  }

  async deleteRecoveryCodes(manager: EntityManager, userId: string): Promise<void> {
    await manager.delete(RecoveryCode, { userId });
  }

  /** Marks one unused code used; false when there is no such unused code. Atomic. */
  async useRecoveryCode(manager: EntityManager, userId: string, codeHash: Buffer): Promise<boolean> {
    const result = await manager.update(RecoveryCode, { userId, codeHash, usedAt: IsNull() }, { usedAt: new Date() });
    return result.affected === 1;
  }

  recoveryCodesLeft(userId: string): Promise<number> {
    return this.recovery.countBy({ userId, usedAt: IsNull() });
  }

  async insertChallenge(
    challenge: Pick<MfaChallenge, 'tokenHash' | 'userId' | 'purpose' | 'credentialsEpoch' | 'expiresAt'>,
  ): Promise<void> {
    await this.challenges.insert(challenge);
    // A few expired ones go with each new one (see PasskeysRepository.insertChallenge).
    await this.challenges.query(
      `DELETE FROM mfa_challenges WHERE id IN
         (SELECT id FROM mfa_challenges WHERE expires_at < now() LIMIT ${EXPIRED_PER_INSERT})`,
    );
  }

  /** A live, unused challenge for this token and one of these sign-in paths. */
  async findLiveChallenge(tokenHash: Buffer, purposes: readonly MfaPurpose[]): Promise<MfaChallenge | null> {
    const challenge = await this.challenges.findOneBy({ tokenHash, usedAt: IsNull() });
    if (!challenge || challenge.expiresAt.getTime() <= Date.now() || !purposes.includes(challenge.purpose)) return null;
    return challenge;
  }

  /** Uses the challenge up, if nobody did and it has not expired: exactly one sign-in finishes with it. */
  async claimChallenge(manager: EntityManager, id: string): Promise<boolean> {
    const [rows] = (await manager.query(
      `UPDATE mfa_challenges SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING id`,
      [id],
    )) as [unknown[], number];
    return rows.length === 1;
  }
}

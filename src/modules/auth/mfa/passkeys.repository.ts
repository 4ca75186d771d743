import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, type Repository } from 'typeorm';
import { Passkey, WebAuthnChallenge } from './passkey.entities.js';

/** More than one, so expired rows are cleared faster than new ones arrive. */
const EXPIRED_PER_INSERT = 10;

@Injectable()
export class PasskeysRepository {
  constructor(
    @InjectRepository(Passkey) private readonly passkeys: Repository<Passkey>,
    @InjectRepository(WebAuthnChallenge) private readonly challenges: Repository<WebAuthnChallenge>,
  ) {}

  listOfUser(userId: string): Promise<Passkey[]> {
    return this.passkeys.find({ where: { userId }, order: { createdAt: 'DESC' } });
  }

  countOfUser(userId: string): Promise<number> {
    return this.passkeys.countBy({ userId });
  }

  findByCredentialId(credentialId: string): Promise<Passkey | null> {
    return this.passkeys.findOneBy({ credentialId });
  }

  insert(passkey: Omit<Passkey, 'id' | 'createdAt' | 'lastUsedAt'>): Promise<Passkey> {
    return this.passkeys.save(this.passkeys.create(passkey));
  }

  async deleteOfUser(userId: string, id: string): Promise<boolean> {
    return ((await this.passkeys.delete({ userId, id })).affected ?? 0) > 0;
  }

  async deleteAllOfUser(manager: EntityManager, userId: string): Promise<void> {
    await manager.delete(Passkey, { userId });
  }

  /** Moves the counter forward from the value the check read: of two uses of one assertion, one wins. */
  async recordUse(id: string, seenCounter: string, newCounter: number, backedUp: boolean): Promise<boolean> {
    const [rows] = (await this.passkeys.query(
      `UPDATE passkeys SET counter = $3, backed_up = $4, last_used_at = now()
       WHERE id = $1 AND counter = $2 RETURNING id`,
      [id, seenCounter, newCounter, backedUp],
    )) as [unknown[], number];
    return rows.length === 1;
  }

  /**
   * Stores a new challenge and deletes a few expired ones: each new row clears up to
   * EXPIRED_PER_INSERT old ones, so the table stays about as large as what lives (5 minutes of
   * rate-limited ceremonies) without a schedule of its own.
   */
  async insertChallenge(
    challenge: Pick<WebAuthnChallenge, 'challenge' | 'purpose' | 'userId' | 'expiresAt'>,
  ): Promise<void> {
    await this.challenges.insert(challenge);
    await this.challenges.query(
      `DELETE FROM webauthn_challenges WHERE id IN
         (SELECT id FROM webauthn_challenges WHERE expires_at < now() LIMIT ${EXPIRED_PER_INSERT})`,
    );
  }

  /** Uses the challenge up if it is live, of this purpose (and user): the user it was issued to, or undefined. */
  async claimChallenge(
    challenge: string,
    purpose: WebAuthnChallenge['purpose'],
  ): Promise<{ userId: string | null } | undefined> {
    const [rows] = (await this.challenges.query(
      `UPDATE webauthn_challenges SET used_at = now()
       WHERE challenge = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now() RETURNING user_id`,
      [challenge, purpose],
    )) as [{ user_id: string | null }[], number];
    return rows[0] && { userId: rows[0].user_id };
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, IsNull, LessThan, type Repository } from 'typeorm';
import { RefreshToken } from './refresh-token.entity.js';

/** The access token paired with a refresh token that a revocation ended. */
export interface EndedAccessToken {
  jti: string;
  userId: string;
  expiresAtSeconds: number;
}

/** One live sign-in (a refresh family), as the credential inventory lists it. */
export interface LiveFamily {
  familyId: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  createdIp: string | null;
  createdUserAgent: string | null;
  accessJtis: string[];
}

@Injectable()
export class RefreshTokensRepository {
  constructor(@InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>) {}

  findByHash(tokenHash: Buffer): Promise<RefreshToken | null> {
    return this.tokens.findOneBy({ tokenHash });
  }

  async insert(
    manager: EntityManager,
    row: Omit<RefreshToken, 'id' | 'createdAt' | 'rotatedAt' | 'revokedAt'>,
  ): Promise<void> {
    await manager.insert(RefreshToken, row);
  }

  /** Marks the token rotated, if nobody did and nothing revoked it: of two rotations exactly one wins. */
  async claim(manager: EntityManager, id: string): Promise<boolean> {
    const result = await manager.update(
      RefreshToken,
      { id, rotatedAt: IsNull(), revokedAt: IsNull() },
      { rotatedAt: new Date() },
    );
    return result.affected === 1;
  }

  /**
   * Revokes the whole family. Its rows are locked first: a rotation in flight holds its old
   * row, so this waits for it to commit and the UPDATE (a new statement, a new snapshot)
   * then sees the row the rotation added. Returns the access tokens still alive.
   */
  async revokeFamily(manager: EntityManager, familyId: string): Promise<EndedAccessToken[]> {
    await manager.query(`SELECT id FROM refresh_tokens WHERE family_id = $1 FOR UPDATE`, [familyId]);
    return this.revoke(manager, 'family_id = $1', [familyId]);
  }

  /**
   * Revokes every family of the user but `keepFamilyId`. The caller holds the user's row
   * lock, which every issue and rotation share-locks first: none is in flight.
   */
  revokeAllOfUser(manager: EntityManager, userId: string, keepFamilyId?: string): Promise<EndedAccessToken[]> {
    return keepFamilyId
      ? this.revoke(manager, 'user_id = $1 AND family_id <> $2', [userId, keepFamilyId])
      : this.revoke(manager, 'user_id = $1', [userId]);
  }

  /**
   * Revokes the user's families but the `keep` most recently signed in, in the caller's
   * transaction, under a per-user lock that it holds to its end (the user's row lock is only
   * shared between sign-ins): of two sign-ins racing, the second trims after the first
   * committed, its statement then seeing both new families.
   */
  async revokeOldestOfUser(manager: EntityManager, userId: string, keep: number): Promise<EndedAccessToken[]> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('refresh-families:' || $1, 0))`, [userId]);
    return this.revoke(
      manager,
      `user_id = $1 AND family_id IN
         (SELECT family_id FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          GROUP BY family_id ORDER BY min(created_at) DESC, family_id OFFSET $2)`,
      [userId, keep],
    );
  }

  /** The family whose latest token was handed out with this access token (the caller's sign-in). */
  async familyOfAccessToken(jti: string): Promise<string | undefined> {
    return (await this.tokens.findOne({ where: { accessJti: jti }, select: { familyId: true } }))?.familyId;
  }

  async liveFamilies(userId: string): Promise<LiveFamily[]> {
    const rows = (await this.tokens.query(
      `SELECT family_id, min(created_at) AS created_at, max(created_at) AS last_used_at, max(expires_at) AS expires_at,
              (array_agg(created_ip ORDER BY created_at))[1] AS created_ip,
              (array_agg(created_user_agent ORDER BY created_at))[1] AS created_user_agent,
              array_agg(access_jti) FILTER (WHERE access_jti IS NOT NULL) AS access_jtis
       FROM refresh_tokens WHERE user_id = $1
       GROUP BY family_id
       HAVING bool_and(revoked_at IS NULL) AND max(expires_at) > now() AND bool_or(rotated_at IS NULL)
       ORDER BY min(created_at) DESC`,
      [userId],
    )) as {
      family_id: string;
      created_at: Date;
      last_used_at: Date;
      expires_at: Date;
      created_ip: string | null;
      created_user_agent: string | null;
      access_jtis: string[] | null;
    }[];
    return rows.map((row) => ({
      familyId: row.family_id,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      expiresAt: row.expires_at,
      createdIp: row.created_ip,
      createdUserAgent: row.created_user_agent,
      accessJtis: row.access_jtis ?? [],
    }));
  }

  async purgeExpired(before: Date): Promise<number> {
    return (await this.tokens.delete({ expiresAt: LessThan(before) })).affected ?? 0;
  }

  private async revoke(manager: EntityManager, where: string, params: unknown[]): Promise<EndedAccessToken[]> {
    const [rows] = (await manager.query(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE ${where} AND revoked_at IS NULL
       RETURNING user_id, access_jti, access_expires_at`,
      params,
    )) as [{ user_id: string; access_jti: string | null; access_expires_at: Date | null }[], number];
    const now = Date.now();
    return rows
      .filter(
        (row) => row.access_jti !== null && row.access_expires_at !== null && row.access_expires_at.getTime() > now,
      )
      .map((row) => ({
        jti: row.access_jti as string,
        userId: row.user_id,
        expiresAtSeconds: Math.ceil((row.access_expires_at as Date).getTime() / 1000),
      }));
  }
}

import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { AppConfig } from '../../../config/app-config.js';
import { RefreshToken } from './refresh-token.entity.js';

const REFRESH_TOKEN_TAG = 'nsa_rt';

export type RotationResult =
  | { outcome: 'rotated'; userId: string; familyId: string; token: string }
  | { outcome: 'reused'; userId: string; familyId: string }
  | { outcome: 'invalid' };

/**
 * Opaque refresh tokens, stored hashed, one family per login. Every refresh rotates; a
 * token that was already rotated, presented again, means it leaked: the family dies.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly config: AppConfig,
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
  ) {}

  /** Starts a family (a login) and returns its first token. */
  async issue(userId: string, familyId: string = randomUUID()): Promise<string> {
    const token = newOpaqueToken(REFRESH_TOKEN_TAG);
    await this.tokens.insert({
      familyId,
      userId,
      tokenHash: hashOpaqueToken(token),
      expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000),
    });
    return token;
  }

  async rotate(presented: string): Promise<RotationResult> {
    const row = await this.tokens.findOneBy({ tokenHash: hashOpaqueToken(presented) });
    if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return { outcome: 'invalid' };
    // Atomic claim: of two concurrent refreshes with one token, exactly one wins.
    const claimed = await this.tokens.update(
      { id: row.id, rotatedAt: IsNull(), revokedAt: IsNull() },
      { rotatedAt: new Date() },
    );
    if (claimed.affected !== 1) {
      await this.revokeFamily(row.familyId);
      return { outcome: 'reused', userId: row.userId, familyId: row.familyId };
    }
    const token = await this.issue(row.userId, row.familyId);
    return { outcome: 'rotated', userId: row.userId, familyId: row.familyId, token };
  }

  /** Revokes the family of a presented token; returns its owner, or undefined if unknown. */
  async revokeFamilyOf(presented: string): Promise<string | undefined> {
    const row = await this.tokens.findOneBy({ tokenHash: hashOpaqueToken(presented) });
    if (!row) return undefined;
    await this.revokeFamily(row.familyId);
    return row.userId;
  }

  async revokeAllOfUser(userId: string): Promise<void> {
    await this.tokens.update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}

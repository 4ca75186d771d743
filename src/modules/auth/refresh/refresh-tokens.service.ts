import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, type Repository } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { AppConfig } from '../../../config/app-config.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { RefreshToken } from './refresh-token.entity.js';

const REFRESH_TOKEN_TAG = 'nsa_rt';

/** The access token handed out with a refresh token, so that it can die with the family. */
export interface PairedAccessToken {
  jti: string;
  expiresAtSeconds: number;
}

export type RotationResult =
  | { outcome: 'rotated'; userId: string; familyId: string; token: string; tokenId: string }
  | { outcome: 'reused'; userId: string; familyId: string }
  | { outcome: 'invalid' };

/**
 * Opaque refresh tokens, stored hashed, one family per login. Every refresh rotates; a
 * token that was already rotated, presented again, means it leaked: the family dies, and
 * with it every access token it handed out.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
  ) {}

  /** A new token in the family (a new family, i.e. a login, when none is given). */
  async issue(userId: string, familyId: string = randomUUID()): Promise<{ token: string; tokenId: string }> {
    const token = newOpaqueToken(REFRESH_TOKEN_TAG);
    const row = await this.tokens.save(
      this.tokens.create({
        familyId,
        userId,
        tokenHash: hashOpaqueToken(token),
        expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000),
      }),
    );
    return { token, tokenId: row.id };
  }

  async pairWithAccessToken(tokenId: string, access: PairedAccessToken): Promise<void> {
    await this.tokens.update(
      { id: tokenId },
      { accessJti: access.jti, accessExpiresAt: new Date(access.expiresAtSeconds * 1000) },
    );
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
    const { token, tokenId } = await this.issue(row.userId, row.familyId);
    return { outcome: 'rotated', userId: row.userId, familyId: row.familyId, token, tokenId };
  }

  /** Revokes the family of a presented token (logout); unknown tokens change nothing. */
  async revokeFamilyOf(presented: string): Promise<void> {
    const row = await this.tokens.findOneBy({ tokenHash: hashOpaqueToken(presented) });
    if (row) await this.revokeFamily(row.familyId);
  }

  async revokeAllOfUser(userId: string): Promise<void> {
    await this.tokens.update({ userId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
    const live = await this.tokens.findBy({ familyId, accessExpiresAt: MoreThan(new Date()) });
    for (const row of live) {
      if (row.accessJti && row.accessExpiresAt) {
        await this.revocation.revokeAccessToken(
          row.accessJti,
          row.userId,
          Math.ceil(row.accessExpiresAt.getTime() / 1000),
        );
      }
    }
  }
}

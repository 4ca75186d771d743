import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { isAuthenticationMethod, type SignInProof } from '../../../common/auth/sign-in-proof.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService, type Account } from '../../users/users.service.js';
import type { CredentialOrigin } from '../credentials/credential-origin.js';
import { AccessTokensService, type IssuedAccessToken } from '../jwt/access-tokens.service.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';

const REFRESH_TOKEN_TAG = 'nsa_rt';

/** A first-party sign-in's credentials: an access token and the refresh token of its family. */
export interface IssuedPair {
  access: IssuedAccessToken;
  refreshToken: string;
  familyId: string;
  userId: string;
}

export type RotationResult =
  | { outcome: 'rotated'; pair: IssuedPair }
  | { outcome: 'reused'; userId: string; familyId: string }
  | { outcome: 'invalid' };

/**
 * Opaque refresh tokens, stored hashed, one family per sign-in. Every refresh rotates; a
 * token that was already rotated, presented again, means it leaked: the family dies, and
 * with it every access token it handed out. Each token is stored with the access token
 * issued beside it, in the transaction that issues both, so a revocation finds them together.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly revocation: RevocationService,
    private readonly accessTokens: AccessTokensService,
    private readonly users: UsersService,
    private readonly tokens: RefreshTokensRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * A new family for a sign-in whose password (or factor) checked out. Null when the account
   * changed in between (deactivated, password changed, signed out everywhere): a sign-in that
   * straddles such a change gets nothing. Past MAX_SIGN_INS_PER_USER live families, the
   * oldest end with their access tokens, so what one account holds stays bounded.
   */
  async signIn(account: Account, origin: CredentialOrigin, proof: SignInProof): Promise<IssuedPair | null> {
    const issued = await this.dataSource.transaction(async (manager) => {
      const current = await this.users.lockForIssuance(manager, account.id, account.credentialsEpoch);
      if (!current) return null;
      const pair = await this.issueInto(manager, current, randomUUID(), origin, proof);
      const ended = await this.tokens.revokeOldestOfUser(manager, current.id, this.config.auth.maxSignInsPerUser);
      const events = await this.revocation.record(
        manager,
        ended.map((t) => this.revocation.accessToken(t.jti, t.userId, t.expiresAtSeconds)),
      );
      return { pair, events };
    });
    if (!issued) return null;
    await this.revocation.publish(issued.events);
    return issued.pair;
  }

  async rotate(presented: string): Promise<RotationResult> {
    const row = await this.tokens.findByHash(hashOpaqueToken(presented));
    if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return { outcome: 'invalid' };
    const rotated = await this.dataSource.transaction(async (manager) => {
      const account = await this.users.lockForIssuance(manager, row.userId);
      if (!account) return null;
      // Atomic claim: of two concurrent refreshes with one token, exactly one wins.
      if (!(await this.tokens.claim(manager, row.id))) return 'lost' as const;
      // A refresh carries the sign-in's proof forward unchanged: refreshing is not signing in.
      return this.issueInto(
        manager,
        account,
        row.familyId,
        { ip: row.createdIp, userAgent: row.createdUserAgent },
        { authTime: Math.floor(row.authTime.getTime() / 1000), amr: row.amr.filter(isAuthenticationMethod) },
      );
    });
    if (rotated === null) return { outcome: 'invalid' };
    if (rotated !== 'lost') return { outcome: 'rotated', pair: rotated };
    // Lost the claim: either the token was rotated before (a replay: the family dies), or a
    // revocation got there first (nothing more to do).
    const now = await this.tokens.findByHash(row.tokenHash);
    if (!now || now.revokedAt) return { outcome: 'invalid' };
    await this.revokeFamily(row.familyId);
    return { outcome: 'reused', userId: row.userId, familyId: row.familyId };
  }

  /** Revokes the family of a presented token (logout); unknown tokens change nothing. */
  async revokeFamilyOf(presented: string): Promise<void> {
    const row = await this.tokens.findByHash(hashOpaqueToken(presented));
    if (row) await this.revokeFamily(row.familyId);
  }

  async revokeFamily(familyId: string): Promise<void> {
    const events = await this.dataSource.transaction(async (manager) => {
      const ended = await this.tokens.revokeFamily(manager, familyId);
      return this.revocation.record(
        manager,
        ended.map((t) => this.revocation.accessToken(t.jti, t.userId, t.expiresAtSeconds)),
      );
    });
    await this.revocation.publish(events);
  }

  private async issueInto(
    manager: EntityManager,
    account: Account,
    familyId: string,
    origin: CredentialOrigin,
    proof: SignInProof,
  ): Promise<IssuedPair> {
    const access = await this.accessTokens.issue(
      account,
      await this.revocation.generationOf(manager, account.id),
      proof,
    );
    const refreshToken = newOpaqueToken(REFRESH_TOKEN_TAG);
    await this.tokens.insert(manager, {
      familyId,
      userId: account.id,
      tokenHash: hashOpaqueToken(refreshToken),
      expiresAt: new Date(Date.now() + this.config.auth.refreshTtlSeconds * 1000),
      accessJti: access.jti,
      accessExpiresAt: new Date(access.expiresAt * 1000),
      createdIp: origin.ip,
      createdUserAgent: origin.userAgent,
      authTime: new Date(proof.authTime * 1000),
      amr: [...proof.amr],
    });
    return { access, refreshToken, familyId, userId: account.id };
  }
}

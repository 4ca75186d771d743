import { Injectable } from '@nestjs/common';
import { In, type EntityManager } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { RESET_LINK_MINUTES } from '../../mail/mail-templates.js';
import type { Account } from '../../users/users.service.js';
import { AccountToken, type AccountTokenPurpose } from './account-token.entity.js';

/** How long each kind of mailed token lives (OWASP: a reset link, 30 minutes at most). */
export const ACCOUNT_TOKEN_TTL_SECONDS: Record<AccountTokenPurpose, number> = {
  'verify-email': 24 * 3600,
  'change-email': 24 * 3600,
  'reset-password': RESET_LINK_MINUTES * 60,
};

/** Tags, so a leaked one is recognizable (and a scanner can find it). */
const TAGS: Record<AccountTokenPurpose, string> = {
  'verify-email': 'nsa_verify',
  'change-email': 'nsa_email',
  'reset-password': 'nsa_reset',
};

/** Issues and redeems the tokens of the account flows, always in the caller's transaction. */
@Injectable()
export class AccountTokens {
  /**
   * A new token for `purpose`; the user's earlier unused ones for it die (a new mail
   * supersedes the old one). Returns the token itself, which only the mail carries.
   */
  async issue(
    manager: EntityManager,
    user: Pick<Account, 'id' | 'credentialsEpoch'>,
    purpose: AccountTokenPurpose,
    email: string,
  ): Promise<string> {
    await manager.delete(AccountToken, { userId: user.id, purpose });
    const token = newOpaqueToken(TAGS[purpose]);
    await manager.insert(AccountToken, {
      userId: user.id,
      purpose,
      tokenHash: hashOpaqueToken(token),
      email,
      credentialsEpoch: purpose === 'reset-password' ? user.credentialsEpoch : null,
      expiresAt: new Date(Date.now() + ACCOUNT_TOKEN_TTL_SECONDS[purpose] * 1000),
    });
    return token;
  }

  /** The live (unused, unexpired) token, without using it: to check a request before the work. */
  peek(manager: EntityManager, token: string, purposes: AccountTokenPurpose[]): Promise<AccountToken | null> {
    return manager
      .createQueryBuilder(AccountToken, 't')
      .where('t.token_hash = :hash AND t.purpose IN (:...purposes)', { hash: hashOpaqueToken(token), purposes })
      .andWhere('t.used_at IS NULL AND t.expires_at > now()')
      .getOne();
  }

  /** Uses the token, once: of two concurrent redemptions one gets it, the other null. */
  async redeem(manager: EntityManager, token: string, purposes: AccountTokenPurpose[]): Promise<AccountToken | null> {
    const result = await manager
      .createQueryBuilder()
      .update(AccountToken)
      .set({ usedAt: () => 'now()' })
      .where({ tokenHash: hashOpaqueToken(token), purpose: In(purposes) })
      .andWhere('used_at IS NULL AND expires_at > now()')
      .returning('*')
      .execute();
    const row = (result.raw as Record<string, unknown>[])[0];
    if (!row) return null;
    return manager.create(AccountToken, {
      id: row.id as string,
      userId: row.user_id as string,
      purpose: row.purpose as AccountTokenPurpose,
      email: row.email as string,
      credentialsEpoch: (row.credentials_epoch as number | null) ?? null,
    });
  }
}

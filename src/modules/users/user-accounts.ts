import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Role } from '../../common/auth/roles.js';
import { isUniqueViolation } from '../../common/errors/db-errors.js';
import { ValidationFailedError } from '../../common/errors/app-error.js';
import { PasswordHasher } from './password-hasher.js';
import { passwordProblems } from './password-policy.js';
import { User } from './user.entity.js';
import { EmailTakenError } from './users.errors.js';
import type { Account } from './users.service.js';

export interface NewAccount {
  /** Already normalized (see normalizeEmail). */
  email: string;
  displayName: string;
  /** From `hashNewPassword`. */
  passwordHash: string;
  roles: Role[];
}

function toAccount(user: User | null): Account | null {
  if (!user) return null;
  const { passwordHash: _hash, ...account } = user;
  return account;
}

/**
 * The account changes of the lifecycle flows (registration with mail, verification, email
 * change), each with the caller's EntityManager, so the change and the mail it causes commit
 * together. What they hand out is an Account: stored password hashes stay in this module.
 */
@Injectable()
export class UserAccounts {
  constructor(private readonly hasher: PasswordHasher) {}

  /**
   * The argon2id hash of a new password that passes the rules (reported under `field`),
   * for `insertIfNew`. Costs the same whether or not the email has an account: callers run
   * it before they look.
   */
  async hashNewPassword(
    password: string,
    userInputs: { email: string; displayName?: string },
    field = 'password',
  ): Promise<string> {
    const problems = await passwordProblems(password, userInputs);
    if (problems.length > 0) throw new ValidationFailedError(problems.map((message) => ({ field, message })));
    return this.hasher.hash(password);
  }

  /**
   * Inserts the account unless the email is taken: its id, or null (nothing raised, the
   * transaction goes on). One statement either way.
   */
  async insertIfNew(manager: EntityManager, account: NewAccount): Promise<string | null> {
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(User)
      .values({ ...account, emailVerifiedAt: null })
      .orIgnore()
      .returning('id')
      .execute();
    return (result.raw as { id: string }[])[0]?.id ?? null;
  }

  async findById(manager: EntityManager, id: string): Promise<Account | null> {
    return toAccount(await manager.findOneBy(User, { id }));
  }

  async findByEmail(manager: EntityManager, email: string): Promise<Account | null> {
    return toAccount(await manager.findOneBy(User, { email }));
  }

  /** The user, locked until the transaction ends: changes to one account queue up. */
  async findForUpdate(manager: EntityManager, id: string): Promise<Account | null> {
    return toAccount(await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } }));
  }

  /** Whether `password` is the user's (an unknown user costs one verification all the same). */
  async verifyPassword(manager: EntityManager, id: string, password: string): Promise<boolean> {
    const user = await manager.findOneBy(User, { id });
    return this.hasher.verify(user?.passwordHash, password);
  }

  /** Marks `email` proved, if it is still the user's email. */
  async markEmailVerified(manager: EntityManager, id: string, email: string): Promise<boolean> {
    const { affected } = await manager
      .createQueryBuilder()
      .update(User)
      .set({ emailVerifiedAt: () => 'coalesce(email_verified_at, now())' })
      .where('id = :id AND email = :email', { id, email })
      .execute();
    return affected === 1;
  }

  /**
   * Moves the account to a proved new email. The unique index decides a race for the
   * address: the loser gets EmailTakenError, whatever was checked before.
   */
  async switchEmail(manager: EntityManager, id: string, newEmail: string): Promise<void> {
    try {
      await manager
        .createQueryBuilder()
        .update(User)
        .set({ email: newEmail, emailVerifiedAt: () => 'now()' })
        .where('id = :id', { id })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw new EmailTakenError();
      throw error;
    }
  }
}

import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Role } from '../../common/auth/roles.js';
import { isUniqueViolation } from '../../common/errors/db-errors.js';
import { ValidationFailedError } from '../../common/errors/app-error.js';
import { PasswordHasher } from './password-hasher.js';
import { passwordProblems } from './password-policy.js';
import { User } from './user.entity.js';
import { EmailTakenError } from './users.errors.js';

export interface NewAccount {
  /** Already normalized (see normalizeEmail). */
  email: string;
  displayName: string;
  passwordHash: string;
  roles: Role[];
}

/**
 * The account changes of the lifecycle flows (registration with mail, verification, email
 * change, password reset), each with the caller's EntityManager, so the change and the
 * mail it causes commit together.
 */
@Injectable()
export class UserAccounts {
  constructor(private readonly hasher: PasswordHasher) {}

  /**
   * The argon2id hash of a password that passes the rules (reported under `field`). Costs
   * the same whether or not the email has an account: callers run it before looking.
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

  findById(manager: EntityManager, id: string): Promise<User | null> {
    return manager.findOneBy(User, { id });
  }

  findByEmail(manager: EntityManager, email: string): Promise<User | null> {
    return manager.findOneBy(User, { email });
  }

  /** The user, locked until the transaction ends: changes to one account queue up. */
  findForUpdate(manager: EntityManager, id: string): Promise<User | null> {
    return manager.createQueryBuilder(User, 'u').setLock('pessimistic_write').where('u.id = :id', { id }).getOne();
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

  async setPasswordHash(manager: EntityManager, id: string, passwordHash: string): Promise<void> {
    await manager.update(User, { id }, { passwordHash });
  }

  verifyPassword(user: User, password: string): Promise<boolean> {
    return this.hasher.verify(user.passwordHash, password);
  }
}

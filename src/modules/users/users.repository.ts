import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import { newestFirst, type Keyset } from '../../db/keyset.js';
import type { Role } from '../../common/auth/roles.js';
import { isUniqueViolation } from '../../common/errors/db-errors.js';
import { EmailTakenError, LastAdminError } from './users.errors.js';
import { User } from './user.entity.js';

export interface NewUser {
  email: string;
  displayName: string;
  passwordHash: string;
  roles: Role[];
  emailVerifiedAt?: Date | null;
}

@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly dataSource: DataSource,
  ) {}

  /** Inserts a user; an email already registered raises EmailTakenError. */
  async insert(user: NewUser): Promise<User> {
    try {
      return await this.users.save(this.users.create(user));
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw new EmailTakenError();
      throw error;
    }
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findOneBy({ email });
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  async recordLogin(id: string, at: Date): Promise<void> {
    await this.users.update({ id }, { lastLoginAt: at });
  }

  /**
   * Runs `work` in one transaction with the user's row locked against every other change and
   * sign-in (FOR UPDATE), and bumps the credentials epoch: what ends credentials goes through
   * here. Null when there is no such user.
   */
  async changeEndingCredentials<T>(
    id: string,
    work: (manager: EntityManager, user: User) => Promise<T>,
  ): Promise<T | null> {
    return this.dataSource.transaction(async (manager) => {
      const user = await manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) return null;
      await manager.increment(User, { id }, 'credentialsEpoch', 1);
      return work(manager, user);
    });
  }

  /**
   * The user as a sign-in may issue for it, read in the issuing transaction with the row
   * share-locked: a change that ends credentials waits for the issue to commit (and then ends
   * what it issued), or the issue waits for the change (and then sees its new epoch).
   */
  findForIssuance(manager: EntityManager, id: string): Promise<User | null> {
    return manager.findOne(User, { where: { id }, lock: { mode: 'pessimistic_read' } });
  }

  /** Up to `limit` users after `after`, newest first. */
  list(limit: number, after?: Keyset): Promise<User[]> {
    const query = this.users.createQueryBuilder('u');
    return newestFirst(query, ['u.created_at', 'u.id'], limit, after).getMany();
  }

  /**
   * Applies the changes (or deletes, with `changes` null) unless that would leave no
   * active admin. The active admins are locked first, so two admins demoting each other
   * at once cannot both succeed.
   */
  async changeKeepingAnAdmin(
    id: string,
    changes: Partial<Pick<User, 'displayName' | 'roles' | 'isActive'>> | null,
    within: (manager: EntityManager, before: User, after: User | null) => Promise<void> = async () => undefined,
  ): Promise<User | null> {
    return this.dataSource.transaction(async (manager) => {
      const admins = await manager
        .createQueryBuilder(User, 'u')
        .setLock('pessimistic_write')
        .where(`'admin' = ANY(u.roles) AND u.is_active`)
        .getMany();
      const user = await manager.findOneBy(User, { id });
      if (!user) return null;
      // DTO instances carry undeclared fields as undefined: they change nothing.
      const given = changes && Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
      const after = given === null ? null : { ...user, ...given };
      const stillAdmin = after !== null && after.isActive && after.roles.includes('admin');
      if (admins.length === 1 && admins[0]?.id === id && !stillAdmin) throw new LastAdminError();
      if (given === null) {
        await manager.delete(User, { id });
        await within(manager, user, null);
        return user;
      }
      if (Object.keys(given).length === 0) return user;
      const endsCredentials = given.isActive === false && user.isActive;
      await manager.update(
        User,
        { id },
        { ...(given as Partial<User>), ...(endsCredentials ? { credentialsEpoch: user.credentialsEpoch + 1 } : {}) },
      );
      const changed = await manager.findOneBy(User, { id });
      await within(manager, user, changed);
      return changed;
    });
  }
}

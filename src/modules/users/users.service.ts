import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal.js';
import type { Role } from '../../common/auth/roles.js';
import { ForbiddenError, NotFoundError, ValidationFailedError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../common/http/pagination.js';
import type { UpdateUserDto } from './dto/users.dto.js';
import { USER_EVENTS, type UserChangedEvent, type UserEventName } from './users.events.js';
import { passwordProblems } from './password-policy.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersRepository } from './users.repository.js';
import { UserResponse } from './dto/user.response.js';
import { User } from './user.entity.js';
import type { EntityManager } from 'typeorm';

/**
 * A user as other modules see it: everything but the password hash, which never leaves this
 * module (password checks happen here).
 */
export type Account = Omit<User, 'passwordHash'>;

function toAccount(user: User): Account {
  const { passwordHash: _hash, ...account } = user;
  return account;
}

export interface Registration {
  /** Already normalized (see normalizeEmail). */
  email: string;
  password: string;
  displayName: string;
}

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly events: EventEmitter2,
  ) {}

  /** Creates an account after the password rules pass; a taken email raises EmailTakenError. */
  async register(
    registration: Registration,
    roles: Role[] = ['user'],
    { emailVerified = false } = {},
  ): Promise<UserResponse> {
    const problems = await passwordProblems(registration.password, registration);
    if (problems.length > 0) {
      throw new ValidationFailedError(problems.map((message) => ({ field: 'password', message })));
    }
    const user = await this.users.insert({
      email: registration.email,
      displayName: registration.displayName,
      passwordHash: await this.hasher.hash(registration.password),
      roles,
      emailVerifiedAt: emailVerified ? new Date() : null,
    });
    return UserResponse.from(user);
  }

  /** An administrator, under the same password rules, its email taken as proved; only the CLI creates one. */
  createAdmin(admin: Registration): Promise<UserResponse> {
    return this.register(admin, ['admin'], { emailVerified: true });
  }

  /**
   * The user whose password this is, or null. An unknown email still costs one argon2
   * verification, so timing does not tell which emails exist. Inactive users are refused.
   */
  async verifyPassword(email: string, password: string): Promise<Account | null> {
    const user = await this.users.findByEmail(email);
    const matches = await this.hasher.verify(user?.passwordHash, password);
    return user && matches && user.isActive ? toAccount(user) : null;
  }

  async findById(id: string): Promise<Account | null> {
    const user = await this.users.findById(id);
    return user && toAccount(user);
  }

  /**
   * The account credentials may be issued for, read in the issuing transaction with its row
   * share-locked (a change that ends credentials waits for the issue to commit and then ends
   * what it issued, or the issue waits for the change and sees it). Null when the account is
   * gone or inactive, or, given the epoch a sign-in read with the password, when its
   * credentials were ended since (password change, sign-out everywhere).
   */
  async lockForIssuance(manager: EntityManager, userId: string, signedInEpoch?: number): Promise<Account | null> {
    const user = await this.users.findForIssuance(manager, userId);
    if (!user?.isActive) return null;
    if (signedInEpoch !== undefined && user.credentialsEpoch !== signedInEpoch) return null;
    return toAccount(user);
  }

  /**
   * Checks the current password and stores a new one that passes the rules; in the same
   * transaction every credential the contract names dies (see USER_EVENTS). False when the
   * current password is wrong.
   */
  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    keep: Pick<UserChangedEvent, 'keep' | 'keepApiKeys'> = {},
  ): Promise<boolean> {
    const user = await this.users.findById(userId);
    if (!user || !(await this.hasher.verify(user.passwordHash, currentPassword))) return false;
    const problems = await passwordProblems(newPassword, user);
    if (problems.length > 0) {
      throw new ValidationFailedError(problems.map((message) => ({ field: 'newPassword', message })));
    }
    const passwordHash = await this.hasher.hash(newPassword);
    const changed = await this.endingCredentials(
      userId,
      userId,
      USER_EVENTS.passwordChanged,
      keep,
      async (manager, locked) => {
        // A concurrent change of the same password won: this one's current password is stale.
        if (locked.passwordHash !== user.passwordHash) return false;
        await manager.update(User, { id: userId }, { passwordHash });
        return true;
      },
    );
    return changed === true;
  }

  /**
   * Sets a new password for a proven recovery (a mailed reset link) instead of the current
   * one: `proof` runs first, in the transaction of the change with the user's row locked
   * (it uses the link), and the change happens only if it holds. Every credential ends as on
   * a password change, API keys included; the email counts as proved (the link came through
   * it). False when the proof did not hold.
   */
  async resetPassword(
    userId: string,
    newPassword: string,
    proof: (manager: EntityManager, account: Account) => Promise<boolean>,
  ): Promise<boolean> {
    const user = await this.users.findById(userId);
    if (!user) return false;
    const problems = await passwordProblems(newPassword, user);
    if (problems.length > 0) {
      throw new ValidationFailedError(problems.map((message) => ({ field: 'newPassword', message })));
    }
    const passwordHash = await this.hasher.hash(newPassword);
    const changed = await this.endingCredentials(
      userId,
      userId,
      USER_EVENTS.passwordChanged,
      {},
      async (manager, locked) => {
        if (!(await proof(manager, toAccount(locked)))) return false;
        await manager.update(
          User,
          { id: userId },
          { passwordHash, emailVerifiedAt: locked.emailVerifiedAt ?? new Date() },
        );
        return true;
      },
    );
    return changed === true;
  }

  /** Ends every credential of the user but `keep`, on every instance (sign-out everywhere). */
  async signOutEverywhere(userId: string, actorId: string, keep?: UserChangedEvent['keep']): Promise<boolean> {
    return (
      (await this.endingCredentials(userId, actorId, USER_EVENTS.signedOutEverywhere, { keep }, async () => true)) ===
      true
    );
  }

  recordLogin(userId: string): Promise<void> {
    return this.users.recordLogin(userId, new Date());
  }

  async list(query: PageQuery): Promise<Page<UserResponse>> {
    const rows = await this.users.list(query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, UserResponse.from);
  }

  async get(id: string): Promise<UserResponse> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('No such user.');
    return UserResponse.from(user);
  }

  /** Self may change the display name; roles and activation need users:manage. */
  async update(me: Principal, id: string, changes: UpdateUserDto): Promise<UserResponse> {
    const privileged = changes.roles !== undefined || changes.isActive !== undefined;
    if (privileged && !me.permissions.has('users:manage')) {
      throw new ForbiddenError('Changing roles or activation needs users:manage.');
    }
    const afterCommit: UserChangedEvent['afterCommit'] = [];
    const after = await this.users.changeKeepingAnAdmin(id, changes, async (manager, before, changed) => {
      const event: UserChangedEvent = { userId: id, actorId: me.userId, inTransaction: serially(manager), afterCommit };
      if (before.isActive && changed && !changed.isActive) await this.events.emitAsync(USER_EVENTS.deactivated, event);
      else if (changed && before.roles.join() !== changed.roles.join()) {
        await this.events.emitAsync(USER_EVENTS.rolesChanged, event);
      }
    });
    if (!after) throw new NotFoundError('No such user.');
    await runAll(afterCommit);
    return UserResponse.from(after);
  }

  async delete(me: Principal, id: string): Promise<void> {
    const afterCommit: UserChangedEvent['afterCommit'] = [];
    const deleted = await this.users.changeKeepingAnAdmin(id, null, async (manager) => {
      const event: UserChangedEvent = { userId: id, actorId: me.userId, inTransaction: serially(manager), afterCommit };
      await this.events.emitAsync(USER_EVENTS.deleted, event);
    });
    if (!deleted) throw new NotFoundError('No such user.');
    await runAll(afterCommit);
  }

  /**
   * One transaction: the user's row locked and its credentials epoch bumped, `change` applied,
   * then `eventName` emitted so every module ends its credentials in the same transaction;
   * after the commit, their broadcasts. Undefined when there is no such user.
   */
  private async endingCredentials<T>(
    userId: string,
    actorId: string,
    eventName: UserEventName,
    keep: Pick<UserChangedEvent, 'keep' | 'keepApiKeys'>,
    change: (manager: EntityManager, user: User) => Promise<T>,
  ): Promise<T | undefined> {
    const afterCommit: UserChangedEvent['afterCommit'] = [];
    const result = await this.users
      .changeEndingCredentials(userId, async (manager, user) => {
        const outcome = await change(manager, user);
        // A change that did not happen (a stale password) ends nothing: roll the epoch back too.
        if (outcome === false) throw new ChangeNotMade();
        const event: UserChangedEvent = { userId, actorId, inTransaction: serially(manager), afterCommit, ...keep };
        await this.events.emitAsync(eventName, event);
        return outcome;
      })
      .catch((error: unknown) => {
        if (error instanceof ChangeNotMade) return false as T;
        throw error;
      });
    if (result === null) return undefined;
    await runAll(afterCommit);
    return result;
  }
}

/** Thrown inside a transaction to roll it back when the change turned out not to apply. */
class ChangeNotMade extends Error {}

async function runAll(work: readonly (() => Promise<void>)[]): Promise<void> {
  for (const step of work) await step();
}

/** One transaction's connection, handed out to one unit of work at a time. */
function serially(manager: EntityManager): UserChangedEvent['inTransaction'] {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => {
    const next = queue.then(() => work(manager));
    queue = next.catch(() => undefined);
    return next;
  };
}

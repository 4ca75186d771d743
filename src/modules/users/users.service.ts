import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Principal } from '../../common/auth/principal.js';
import type { Role } from '../../common/auth/roles.js';
import { ForbiddenError, NotFoundError, ValidationFailedError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../common/http/pagination.js';
import type { UpdateUserDto } from './dto/users.dto.js';
import { USER_EVENTS, type UserChangedEvent } from './users.events.js';
import { passwordProblems } from './password-policy.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersRepository } from './users.repository.js';
import { UserResponse } from './dto/user.response.js';
import type { User } from './user.entity.js';

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
  async register(registration: Registration, roles: Role[] = ['user']): Promise<UserResponse> {
    const problems = await passwordProblems(registration.password, registration);
    if (problems.length > 0) {
      throw new ValidationFailedError(problems.map((message) => ({ field: 'password', message })));
    }
    const user = await this.users.insert({
      email: registration.email,
      displayName: registration.displayName,
      passwordHash: await this.hasher.hash(registration.password),
      roles,
    });
    return UserResponse.from(user);
  }

  /** An administrator, under the same password rules; only the CLI creates one. */
  createAdmin(admin: Registration): Promise<UserResponse> {
    return this.register(admin, ['admin']);
  }

  /**
   * The user whose password this is, or null. An unknown email still costs one argon2
   * verification, so timing does not tell which emails exist. Inactive users are refused.
   */
  async verifyPassword(email: string, password: string): Promise<User | null> {
    const user = await this.users.findByEmail(email);
    const matches = await this.hasher.verify(user?.passwordHash, password);
    return user && matches && user.isActive ? user : null;
  }

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  /** Checks the current password and stores a new one that passes the rules. */
  async changePassword(user: User, currentPassword: string, newPassword: string): Promise<boolean> {
    if (!(await this.hasher.verify(user.passwordHash, currentPassword))) return false;
    const problems = await passwordProblems(newPassword, user);
    if (problems.length > 0) {
      throw new ValidationFailedError(problems.map((message) => ({ field: 'newPassword', message })));
    }
    await this.users.updatePasswordHash(user.id, await this.hasher.hash(newPassword));
    const event: UserChangedEvent = { userId: user.id, actorId: user.id };
    await this.events.emitAsync(USER_EVENTS.passwordChanged, event);
    return true;
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
    const before = await this.users.findById(id);
    if (!before) throw new NotFoundError('No such user.');
    const after = await this.users.changeKeepingAnAdmin(id, changes);
    if (!after) throw new NotFoundError('No such user.');
    const event: UserChangedEvent = { userId: id, actorId: me.userId };
    if (before.isActive && !after.isActive) await this.events.emitAsync(USER_EVENTS.deactivated, event);
    else if (before.roles.join() !== after.roles.join()) await this.events.emitAsync(USER_EVENTS.rolesChanged, event);
    return UserResponse.from(after);
  }

  async delete(me: Principal, id: string): Promise<void> {
    if (!(await this.users.changeKeepingAnAdmin(id, null))) throw new NotFoundError('No such user.');
    await this.events.emitAsync(USER_EVENTS.deleted, { userId: id, actorId: me.userId } satisfies UserChangedEvent);
  }
}

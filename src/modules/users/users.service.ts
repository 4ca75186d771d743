import { Injectable } from '@nestjs/common';
import type { Role } from '../../common/auth/roles.js';
import { ValidationFailedError } from '../../common/errors/app-error.js';
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
    return true;
  }

  recordLogin(userId: string): Promise<void> {
    return this.users.recordLogin(userId, new Date());
  }
}

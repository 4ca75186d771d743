import { Injectable } from '@nestjs/common';
import type { Role } from '../../common/auth/roles.js';
import { ValidationFailedError } from '../../common/errors/app-error.js';
import { passwordProblems } from './password-policy.js';
import { PasswordHasher } from './password-hasher.js';
import { UsersRepository } from './users.repository.js';
import { UserResponse } from './dto/user.response.js';

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
    const problems = passwordProblems(registration.password, registration);
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
}

import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { stopPasswordStrengthWorkers } from './password-policy.js';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PasswordHasher } from './password-hasher.js';
import { UserAccounts } from './user-accounts.js';
import { User } from './user.entity.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([User])],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, UserAccounts],
  exports: [UsersService, UserAccounts],
})
export class UsersModule implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopPasswordStrengthWorkers();
  }
}

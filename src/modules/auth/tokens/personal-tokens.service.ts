import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { Repository } from 'typeorm';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { UsageRecorder } from '../../../common/auth/usage-recorder.js';
import { NotFoundError } from '../../../common/errors/app-error.js';
import { UsersService } from '../../users/users.service.js';
import { PersonalToken } from './personal-token.entity.js';
import { CreatedPersonalTokenResponse, PersonalTokenResponse } from './dto/personal-token.response.js';

/** `nsa_pat_`: a fixed tag that secret scanners can be taught to find in leaked text. */
const PERSONAL_TOKEN_TAG = 'nsa_pat';

@Injectable()
export class PersonalTokensService {
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly users: UsersService,
    @InjectRepository(PersonalToken) private readonly tokens: Repository<PersonalToken>,
    @InjectPinoLogger(PersonalTokensService.name) private readonly logger: PinoLogger,
  ) {}

  async create(userId: string, name: string, expiresInDays?: number): Promise<CreatedPersonalTokenResponse> {
    const token = newOpaqueToken(PERSONAL_TOKEN_TAG);
    const row = await this.tokens.save(
      this.tokens.create({
        userId,
        name,
        tokenHash: hashOpaqueToken(token),
        expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
      }),
    );
    return { ...PersonalTokenResponse.from(row), token };
  }

  async list(userId: string): Promise<PersonalTokenResponse[]> {
    const rows = await this.tokens.find({ where: { userId }, order: { createdAt: 'DESC' } });
    return rows.map((row) => PersonalTokenResponse.from(row));
  }

  /** Deletes one of the caller's tokens; someone else's is "not found", like a missing one. */
  async delete(userId: string, id: string): Promise<void> {
    const result = await this.tokens.delete({ id, userId });
    if (result.affected !== 1) throw new NotFoundError('No such token.');
  }

  async deleteAllOfUser(userId: string): Promise<void> {
    await this.tokens.delete({ userId });
  }

  async authenticate(presented: string): Promise<Principal | null> {
    const row = await this.tokens.findOneBy({ tokenHash: hashOpaqueToken(presented) });
    const now = Date.now();
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= now)) return null;
    const user = await this.users.findById(row.userId);
    if (!user?.isActive) return null;
    if (this.usage.isDue(row.id, now)) {
      this.tokens.update({ id: row.id }, { lastUsedAt: new Date(now) }).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record token use');
      });
    }
    return makePrincipal({
      userId: user.id,
      roles: user.roles,
      scopes: null,
      authMethod: 'token',
      credentialId: row.id,
    });
  }
}

import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { hashOpaqueToken, newOpaqueToken } from '../../../common/auth/opaque-token.js';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { UsageRecorder } from '../../../common/auth/usage-recorder.js';
import { NotFoundError } from '../../../common/errors/app-error.js';
import { AppConfig } from '../../../config/app-config.js';
import { SECURITY_NOTICE, type SecurityNotice } from '../../mail/security-notices.js';
import { UsersService } from '../../users/users.service.js';
import { assertMayCreate } from '../credentials/attenuation.js';
import type { CredentialOrigin } from '../credentials/credential-origin.js';
import { CreatedPersonalTokenResponse, PersonalTokenResponse } from './dto/personal-token.response.js';
import { PersonalTokensRepository } from './personal-tokens.repository.js';

/** `nsa_pat_`: a fixed tag that secret scanners can be taught to find in leaked text. */
const PERSONAL_TOKEN_TAG = 'nsa_pat';

@Injectable()
export class PersonalTokensService {
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly tokens: PersonalTokensRepository,
    private readonly events: EventEmitter2,
    @InjectPinoLogger(PersonalTokensService.name) private readonly logger: PinoLogger,
  ) {}

  async create(
    me: Principal,
    body: { name: string; expiresInDays?: number },
    origin: CredentialOrigin,
  ): Promise<CreatedPersonalTokenResponse> {
    assertMayCreate(me, { kind: 'personal-token', scopes: null });
    const token = newOpaqueToken(PERSONAL_TOKEN_TAG);
    const row = await this.tokens.insertWithinLimit(
      {
        userId: me.userId,
        name: body.name,
        tokenHash: hashOpaqueToken(token),
        expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
        createdIp: origin.ip,
        createdUserAgent: origin.userAgent,
        createdBy: me.credentialId,
      },
      this.config.auth.maxPersonalTokensPerUser,
    );
    await this.events.emitAsync(SECURITY_NOTICE, {
      userId: me.userId,
      kind: 'personal-token-created',
      name: body.name,
    } satisfies SecurityNotice);
    return { ...PersonalTokenResponse.from(row), token };
  }

  async list(userId: string): Promise<PersonalTokenResponse[]> {
    return (await this.tokens.listOfUser(userId)).map((row) => PersonalTokenResponse.from(row));
  }

  /** Deletes one of the caller's tokens; someone else's is "not found", like a missing one. */
  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.tokens.deleteOfUser(userId, id))) throw new NotFoundError('No such token.');
  }

  async authenticate(presented: string): Promise<Principal | null> {
    const row = await this.tokens.findByHash(hashOpaqueToken(presented));
    const now = Date.now();
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= now)) return null;
    const user = await this.users.findById(row.userId);
    if (!user?.isActive) return null;
    if (this.usage.isDue(row.id, now)) {
      this.tokens.recordUse(row.id, new Date(now)).catch((error: unknown) => {
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

import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { LessThan, Not, type Repository } from 'typeorm';
import { hashOpaqueToken } from '../../../common/auth/opaque-token.js';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { UsageRecorder } from '../../../common/auth/usage-recorder.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService } from '../../users/users.service.js';
import { Session } from './session.entity.js';

export interface StartedSession {
  sid: string;
  session: Session;
}

/** Server-side sessions in Postgres, with idle and absolute timeouts. */
@Injectable()
export class SessionsService {
  private readonly usage = new UsageRecorder();

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersService,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectPinoLogger(SessionsService.name) private readonly logger: PinoLogger,
  ) {}

  /** A new session with a new id; the one the browser had (if any) ends, so no fixation. */
  async start(userId: string, previousSid: string | undefined): Promise<StartedSession> {
    if (previousSid) await this.sessions.delete({ sidHash: hashOpaqueToken(previousSid) });
    const sid = randomBytes(32).toString('base64url');
    const session = await this.sessions.save(
      this.sessions.create({
        sidHash: hashOpaqueToken(sid),
        userId,
        expiresAt: new Date(Date.now() + this.config.auth.sessionAbsoluteSeconds * 1000),
      }),
    );
    return { sid, session };
  }

  async authenticate(sid: string): Promise<Principal | null> {
    const session = await this.sessions.findOneBy({ sidHash: hashOpaqueToken(sid) });
    if (!session) return null;
    const now = Date.now();
    const idleEnd = session.lastSeenAt.getTime() + this.config.auth.sessionIdleSeconds * 1000;
    if (session.expiresAt.getTime() <= now || idleEnd <= now) {
      await this.sessions.delete({ id: session.id });
      return null;
    }
    const user = await this.users.findById(session.userId);
    if (!user?.isActive) return null;
    if (this.usage.isDue(session.id, now)) {
      this.sessions.update({ id: session.id }, { lastSeenAt: new Date(now) }).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record session activity');
      });
    }
    return makePrincipal({
      userId: user.id,
      roles: user.roles,
      scopes: null,
      authMethod: 'session',
      credentialId: session.id,
    });
  }

  async end(sessionId: string): Promise<void> {
    await this.sessions.delete({ id: sessionId });
  }

  /** Ends every session of the user but `keepSessionId` (the one changing the password). */
  async endAllOfUser(userId: string, keepSessionId?: string): Promise<void> {
    await this.sessions.delete(keepSessionId ? { userId, id: Not(keepSessionId) } : { userId });
  }

  async purgeExpired(): Promise<number> {
    const result = await this.sessions.delete({ expiresAt: LessThan(new Date()) });
    return result.affected ?? 0;
  }
}

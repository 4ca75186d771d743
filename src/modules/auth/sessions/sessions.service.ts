import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { hashOpaqueToken } from '../../../common/auth/opaque-token.js';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { isAuthenticationMethod, type SignInProof } from '../../../common/auth/sign-in-proof.js';
import { UsageRecorder } from '../../../common/auth/usage-recorder.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService, type Account } from '../../users/users.service.js';
import type { CredentialOrigin } from '../credentials/credential-origin.js';
import type { Session } from './session.entity.js';
import { SessionsRepository } from './sessions.repository.js';

export function proofOf(session: Pick<Session, 'authTime' | 'amr'>): SignInProof {
  return { authTime: Math.floor(session.authTime.getTime() / 1000), amr: session.amr.filter(isAuthenticationMethod) };
}

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
    private readonly sessions: SessionsRepository,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectPinoLogger(SessionsService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * A new session with a new id; the one the browser had (if any) ends, so no fixation. Null
   * when the account changed since the password was checked (see RefreshTokensService.signIn).
   */
  async start(
    account: Account,
    previousSid: string | undefined,
    origin: CredentialOrigin,
    proof: SignInProof,
  ): Promise<StartedSession | null> {
    if (previousSid) await this.sessions.deleteBySidHash(hashOpaqueToken(previousSid));
    const sid = randomBytes(32).toString('base64url');
    const session = await this.dataSource.transaction(async (manager) => {
      if (!(await this.users.lockForIssuance(manager, account.id, account.credentialsEpoch))) return null;
      const started = await this.sessions.insert(manager, {
        sidHash: hashOpaqueToken(sid),
        userId: account.id,
        expiresAt: new Date(Date.now() + this.config.auth.sessionAbsoluteSeconds * 1000),
        createdIp: origin.ip,
        createdUserAgent: origin.userAgent,
        authTime: new Date(proof.authTime * 1000),
        amr: [...proof.amr],
      });
      // Past MAX_SIGN_INS_PER_USER live sessions, the oldest end: what one account holds stays bounded.
      await this.sessions.endOldestOfUser(manager, account.id, this.config.auth.maxSignInsPerUser);
      return started;
    });
    return session && { sid, session };
  }

  async authenticate(sid: string): Promise<Principal | null> {
    const session = await this.sessions.findBySidHash(hashOpaqueToken(sid));
    if (!session) return null;
    const now = Date.now();
    const idleEnd = session.lastSeenAt.getTime() + this.config.auth.sessionIdleSeconds * 1000;
    if (session.expiresAt.getTime() <= now || idleEnd <= now) {
      await this.sessions.delete(session.id);
      return null;
    }
    const user = await this.users.findById(session.userId);
    if (!user?.isActive) return null;
    if (this.usage.isDue(session.id, now)) {
      this.sessions.touch(session.id, new Date(now)).catch((error: unknown) => {
        this.logger.warn({ err: error }, 'could not record session activity');
      });
    }
    return makePrincipal({
      userId: user.id,
      roles: user.roles,
      scopes: null,
      authMethod: 'session',
      credentialId: session.id,
      signIn: proofOf(session),
    });
  }

  /** A step-up: the session now carries a fresh proof (and keeps its id and CSRF binding). */
  async reauthenticated(sessionId: string, proof: SignInProof): Promise<void> {
    await this.sessions.recordProof(sessionId, new Date(proof.authTime * 1000), [...proof.amr]);
  }

  end(sessionId: string): Promise<void> {
    return this.sessions.delete(sessionId);
  }
}

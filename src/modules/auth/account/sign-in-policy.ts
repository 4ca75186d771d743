import { hash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import { addressBucket } from '../../../common/http/client-address.js';
import { currentRequest } from '../../../common/http/request-context.js';
import { AppConfig } from '../../../config/app-config.js';
import { MailOutbox } from '../../mail/mail-outbox.js';
import type { Account } from '../../users/users.service.js';
import { EmailNotVerifiedError } from './account.errors.js';

/** Origins remembered per user and kind; the least recently seen go first. */
const ORIGINS_KEPT = 20;
const USER_AGENT_KEPT = 512;

/**
 * What every password sign-in (login, session, OAuth page) checks once the password is
 * right: the email is proved when EMAIL_VERIFICATION=mandatory, and a sign-in from a device
 * or address the user was not seen on before gets a notice by mail. "Seen" is bounded:
 * the digests of the last ORIGINS_KEPT user agents and address buckets per user.
 */
@Injectable()
export class SignInPolicy {
  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly outbox: MailOutbox,
    private readonly events: EventEmitter2,
  ) {}

  async afterPasswordChecked(user: Account, address: string): Promise<void> {
    if (this.config.mail.verification === 'mandatory' && user.emailVerifiedAt === null) {
      await this.events.emitAsync(AUDIT_RECORD, {
        action: 'auth.login',
        outcome: 'denied',
        security: true,
        actorId: user.id,
        target: user.id,
        status: 403,
        details: { reason: 'email-not-verified' },
      } satisfies AuditRecord);
      throw new EmailNotVerifiedError();
    }
    await this.rememberOrigin(user, address);
  }

  private async rememberOrigin(user: Account, address: string): Promise<void> {
    const userAgent = String(currentRequest()?.headers['user-agent'] ?? '').slice(0, USER_AGENT_KEPT);
    const bucket = addressBucket(address);
    const queued = await this.dataSource.transaction(async (manager) => {
      const [{ known }] = (await manager.query(
        `SELECT EXISTS (SELECT 1 FROM sign_in_origins WHERE user_id = $1) AS known`,
        [user.id],
      )) as [{ known: boolean }];
      const inserted = (await manager.query(
        `INSERT INTO sign_in_origins (user_id, kind, digest) VALUES ($1, 'address', $2), ($1, 'device', $3)
         ON CONFLICT (user_id, kind, digest) DO UPDATE SET last_seen_at = now()
         RETURNING (xmax = 0) AS inserted`,
        [user.id, digest(user.id, 'address', bucket), digest(user.id, 'device', userAgent)],
      )) as { inserted: boolean }[];
      await manager.query(
        `DELETE FROM sign_in_origins o WHERE o.user_id = $1 AND (o.kind, o.digest) NOT IN (
           SELECT kind, digest FROM (
             SELECT kind, digest, row_number() OVER (PARTITION BY kind ORDER BY last_seen_at DESC) AS n
             FROM sign_in_origins WHERE user_id = $1) recent
           WHERE n <= $2)`,
        [user.id, ORIGINS_KEPT],
      );
      // The first sign-in of an account is no news to its owner.
      if (!known || !inserted.some((row) => row.inserted)) return false;
      await this.outbox.enqueue(manager, {
        template: 'new-sign-in',
        to: user.email,
        values: {
          displayName: user.displayName,
          address,
          userAgent: userAgent || 'an unknown client',
          at: new Date().toISOString(),
        },
      });
      return true;
    });
    if (queued) this.outbox.wake();
  }
}

/** Per user, so one table of digests of every IPv4 address does not read them all back. */
function digest(userId: string, kind: string, value: string): Buffer {
  return hash('sha256', `${userId}\0${kind}\0${value}`, 'buffer');
}

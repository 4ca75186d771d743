import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { SECURITY_NOTICE, type SecurityNotice } from '../../mail/security-notices.js';
import { MFA_EVENTS, type MfaFactorEvent } from './mfa.events.js';

/** The user hears by mail of every second factor added or removed (an administrator's reset too). */
@Injectable()
export class MfaNoticesListener {
  constructor(private readonly events: EventEmitter2) {}

  @OnEvent(MFA_EVENTS.factorAdded, { promisify: true })
  added(event: MfaFactorEvent): Promise<void> {
    return this.notify(event, 'mfa-factor-added');
  }

  @OnEvent(MFA_EVENTS.factorRemoved, { promisify: true })
  @OnEvent(MFA_EVENTS.factorsReset, { promisify: true })
  removed(event: MfaFactorEvent): Promise<void> {
    return this.notify(event, 'mfa-factor-removed');
  }

  private async notify(event: MfaFactorEvent, kind: 'mfa-factor-added' | 'mfa-factor-removed'): Promise<void> {
    const factor = event.factor === 'all' ? 'every second factor, by an administrator' : event.factor;
    const notice: SecurityNotice = { userId: event.userId, kind, factor };
    await this.events.emitAsync(SECURITY_NOTICE, notice);
  }
}

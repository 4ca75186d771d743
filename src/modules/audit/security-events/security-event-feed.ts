import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { USER_EVENTS, type UserChangedEvent } from '../../users/users.events.js';
import type { PendingEvent } from '../audit-writer.js';
import {
  CREDENTIAL_ACTIONS,
  REFRESH_REUSE_ACTION,
  SECURITY_EVENT_TYPES,
  type SecurityEventType,
} from './security-event-types.js';
import { SecurityEventOutbox } from './security-event-outbox.js';

/**
 * Turns what happens into the security events of the catalogue (security-event-types.ts):
 * audit events of credentials created or revoked and of refresh-token reuse, and the users
 * module's role, password, deactivation and sign-out-everywhere events. Stores them in the outbox off the
 * request path; a store that fails is logged (the audit trail still has the event).
 */
@Injectable()
export class SecurityEventFeed {
  constructor(
    private readonly outbox: SecurityEventOutbox,
    @InjectPinoLogger(SecurityEventFeed.name) private readonly logger: PinoLogger,
  ) {}

  /** Fire and forget: never throws, never waits. */
  publish(type: SecurityEventType, data: Record<string, unknown>): void {
    if (!this.outbox.enabled) return;
    this.outbox.publish(type, data).catch((error: unknown) => {
      this.logger.error({ err: error, type }, 'security event not stored for the webhook');
    });
  }

  /** Every audit event passes here (AuditService); most are not security events. */
  observe(event: PendingEvent): void {
    const credential = CREDENTIAL_ACTIONS[event.action];
    if (credential && event.outcome === 'success') {
      this.publish(credential.type, {
        kind: credential.kind,
        credentialId: event.target,
        userId: event.actorId,
        requestId: event.requestId,
        at: event.at.toISOString(),
      });
    } else if (event.action === REFRESH_REUSE_ACTION) {
      this.publish(SECURITY_EVENT_TYPES.refreshTokenReused, {
        userId: event.actorId,
        requestId: event.requestId,
        at: event.at.toISOString(),
      });
    }
  }

  // Emitted inside the transaction of the change: the event is stored in it, so it exists if
  // and only if the change commits, and goes out after the commit.
  @OnEvent(USER_EVENTS.rolesChanged, { promisify: true, suppressErrors: false })
  rolesChanged(event: UserChangedEvent): Promise<void> {
    return this.storeUserChange(SECURITY_EVENT_TYPES.rolesChanged, event);
  }

  @OnEvent(USER_EVENTS.passwordChanged, { promisify: true, suppressErrors: false })
  passwordChanged(event: UserChangedEvent): Promise<void> {
    return this.storeUserChange(SECURITY_EVENT_TYPES.passwordChanged, event);
  }

  @OnEvent(USER_EVENTS.deactivated, { promisify: true, suppressErrors: false })
  deactivated(event: UserChangedEvent): Promise<void> {
    return this.storeUserChange(SECURITY_EVENT_TYPES.deactivated, event);
  }

  @OnEvent(USER_EVENTS.signedOutEverywhere, { promisify: true, suppressErrors: false })
  signedOutEverywhere(event: UserChangedEvent): Promise<void> {
    return this.storeUserChange(SECURITY_EVENT_TYPES.signedOutEverywhere, event);
  }

  private async storeUserChange(type: SecurityEventType, event: UserChangedEvent): Promise<void> {
    if (!this.outbox.enabled) return;
    const data = { userId: event.userId, actorId: event.actorId, at: new Date().toISOString() };
    await event.inTransaction((manager) => this.outbox.store(type, data, manager));
    event.afterCommit.push(async () => this.outbox.kick());
  }
}

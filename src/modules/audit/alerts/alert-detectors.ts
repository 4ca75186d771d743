import type { AuditRecord } from '../../../common/audit/audit-record.js';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../../../config/app-config.js';
import { SharedSlidingWindow } from './shared-sliding-window.js';

export type DetectorName =
  | 'login-failures-per-address'
  | 'login-failures-per-account'
  | 'denied-per-address'
  | 'refresh-token-reuse'
  | 'api-key-new-address';

/** What a detector saw: `count` hits of `subject` within the window. */
export interface Detection {
  detector: DetectorName;
  subject: string;
  count: number;
}

/** Where a record came from, as the listener reads it off the request (absent outside a request). */
export interface RecordSource {
  /** The client address; undefined outside a request (CLI, timers). */
  address: string | undefined;
  /** One key per request, so a request that yields several denied records counts once. */
  request: object | undefined;
}

export const SECURITY_ALERT_ACTION = 'security.alert';

const DENIED_STATUSES = new Set([401, 403, 429]);

/** A password sign-in that failed, or that lockout refused before checking the password. */
function isFailedSignIn(record: AuditRecord): boolean {
  return (record.action === 'auth.login' && record.outcome === 'failure') || record.action === 'auth.lockout';
}

function isDeniedResponse(record: AuditRecord): boolean {
  return record.outcome === 'denied' && record.status != null && DENIED_STATUSES.has(record.status);
}

/** `<key id>@<address>`: the API-keys module audits a key's use from an address it never came from. */
function keyAndAddress(record: AuditRecord): string | undefined {
  const address = record.details?.address;
  return record.target && typeof address === 'string' ? `${record.target}@${address}` : undefined;
}

/**
 * The suspicious-activity detectors, fed every audit record. Their windows are in Redis when
 * it is configured, shared by every instance (a burst spread over N instances by a load
 * balancer alerts once, at the threshold), else in this process's memory (a restart forgets).
 */
export class AlertDetectors {
  private readonly windows: Record<DetectorName, SharedSlidingWindow>;
  private readonly countedDenials = new WeakSet<object>();

  constructor(config: AppConfig['alerts'], redis?: Redis) {
    const windowMs = config.windowSeconds * 1000;
    const window = (name: DetectorName, threshold: number) => new SharedSlidingWindow(name, threshold, windowMs, redis);
    this.windows = {
      'login-failures-per-address': window('login-failures-per-address', config.loginFailuresPerAddress),
      'login-failures-per-account': window('login-failures-per-account', config.loginFailuresPerAccount),
      'denied-per-address': window('denied-per-address', config.deniedPerAddress),
      // Any reuse of a rotated refresh token is an alert at once (a stolen token, most likely).
      'refresh-token-reuse': window('refresh-token-reuse', 1),
      // So is a key used from an address it never came from (a leaked key, perhaps).
      'api-key-new-address': window('api-key-new-address', 1),
    };
  }

  /** The alerts this record raises (usually none). */
  async observe(record: AuditRecord, source: RecordSource, now = Date.now()): Promise<Detection[]> {
    if (record.action === SECURITY_ALERT_ACTION) return [];
    const hits: [DetectorName, string | null | undefined][] = [];
    if (isFailedSignIn(record)) {
      hits.push(['login-failures-per-address', source.address], ['login-failures-per-account', record.target]);
    }
    if (isDeniedResponse(record) && this.firstDenialOf(source.request)) {
      hits.push(['denied-per-address', source.address]);
    }
    if (record.action === 'auth.refresh.reuse') hits.push(['refresh-token-reuse', record.actorId ?? record.target]);
    if (record.action === 'api-key.new-address') hits.push(['api-key-new-address', keyAndAddress(record)]);
    const detections: Detection[] = [];
    for (const [detector, subject] of hits) {
      if (!subject) continue;
      const reached = await this.windows[detector].hit(subject, now);
      if (reached !== undefined) detections.push({ detector, subject, count: reached });
    }
    return detections;
  }

  prune(now = Date.now()): void {
    for (const window of Object.values(this.windows)) window.prune(now);
  }

  /** A lockout answers with two denied records (the lockout and the 429): one response. */
  private firstDenialOf(request: object | undefined): boolean {
    if (!request) return true;
    if (this.countedDenials.has(request)) return false;
    this.countedDenials.add(request);
    return true;
  }
}

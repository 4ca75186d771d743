import type { AuditRecord } from '../../../common/audit/audit-record.js';
import type { AppConfig } from '../../../config/app-config.js';
import { SlidingWindowCounter } from './sliding-window.js';

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
 * The suspicious-activity detectors, fed every audit record. State lives in this process's
 * memory: with several instances each counts what it serves (a burst spread over N
 * instances by a load balancer needs about N times the threshold), and a restart forgets.
 */
export class AlertDetectors {
  private readonly failuresPerAddress: SlidingWindowCounter;
  private readonly failuresPerAccount: SlidingWindowCounter;
  private readonly deniedPerAddress: SlidingWindowCounter;
  private readonly refreshReuse: SlidingWindowCounter;
  private readonly keyNewAddress: SlidingWindowCounter;
  private readonly countedDenials = new WeakSet<object>();

  constructor(config: AppConfig['alerts']) {
    const windowMs = config.windowSeconds * 1000;
    this.failuresPerAddress = new SlidingWindowCounter(config.loginFailuresPerAddress, windowMs);
    this.failuresPerAccount = new SlidingWindowCounter(config.loginFailuresPerAccount, windowMs);
    this.deniedPerAddress = new SlidingWindowCounter(config.deniedPerAddress, windowMs);
    // Any reuse of a rotated refresh token is an alert at once (a stolen token, most likely).
    this.refreshReuse = new SlidingWindowCounter(1, windowMs);
    // So is a key used from an address it never came from (a leaked key, perhaps).
    this.keyNewAddress = new SlidingWindowCounter(1, windowMs);
  }

  /** The alerts this record raises (usually none). */
  observe(record: AuditRecord, source: RecordSource, now = Date.now()): Detection[] {
    if (record.action === SECURITY_ALERT_ACTION) return [];
    const detections: Detection[] = [];
    const count = (detector: DetectorName, counter: SlidingWindowCounter, subject: string | null | undefined) => {
      if (!subject) return;
      const reached = counter.hit(subject, now);
      if (reached !== undefined) detections.push({ detector, subject, count: reached });
    };
    if (isFailedSignIn(record)) {
      count('login-failures-per-address', this.failuresPerAddress, source.address);
      count('login-failures-per-account', this.failuresPerAccount, record.target);
    }
    if (isDeniedResponse(record) && this.firstDenialOf(source.request)) {
      count('denied-per-address', this.deniedPerAddress, source.address);
    }
    if (record.action === 'auth.refresh.reuse') {
      count('refresh-token-reuse', this.refreshReuse, record.actorId ?? record.target);
    }
    if (record.action === 'api-key.new-address') {
      count('api-key-new-address', this.keyNewAddress, keyAndAddress(record));
    }
    return detections;
  }

  prune(now = Date.now()): void {
    for (const counter of [
      this.failuresPerAddress,
      this.failuresPerAccount,
      this.deniedPerAddress,
      this.refreshReuse,
      this.keyNewAddress,
    ]) {
      counter.prune(now);
    }
  }

  /** A lockout answers with two denied records (the lockout and the 429): one response. */
  private firstDenialOf(request: object | undefined): boolean {
    if (!request) return true;
    if (this.countedDenials.has(request)) return false;
    this.countedDenials.add(request);
    return true;
  }
}

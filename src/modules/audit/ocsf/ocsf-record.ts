import { SECURITY_ALERT_ACTION } from '../alerts/alert-detectors.js';
import type { ChainedContent } from '../audit-chain.js';

/** The OCSF schema version the records follow. */
export const OCSF_VERSION = '1.3.0';
const PRODUCT = { name: 'nest-secure-api', vendor_name: 'nest-secure-api' };

/** The OCSF classes the audit trail maps to. */
export const OCSF_CLASS = {
  accountChange: 3001,
  authentication: 3002,
  detectionFinding: 2004,
  apiActivity: 6003,
} as const;

const SEVERITY = { informational: 1, medium: 3, high: 4 } as const;
const OTHER_ACTIVITY = 99;

export type OcsfRecord = Record<string, unknown> & {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
};

/** Sign-in, sign-out and credential checks: Authentication (3002), with its activity (1 Logon, 2 Logoff). */
const AUTHENTICATION: Record<string, number> = {
  'auth.login': 1,
  'auth.lockout': 1,
  'auth.credential.refused': 1,
  'auth.refresh.reuse': 1,
  'auth.logout': 2,
  'auth.session.end': 2,
};

/** Changes to a user account: Account Change (3001), with its activity (3 Password Change, 6 Delete, 99 Other). */
const ACCOUNT_CHANGE: Record<string, number> = {
  'auth.password.change': 3,
  'user.delete': 6,
  'user.update': OTHER_ACTIVITY,
};

/** API Activity (6003) by HTTP method: 1 Create, 2 Read, 3 Update, 4 Delete. */
const API_ACTIVITY_BY_METHOD: Record<string, number> = { POST: 1, GET: 2, PUT: 3, PATCH: 3, DELETE: 4 };

function classOf(action: string): { classUid: number; activityId: number | undefined } {
  if (action === SECURITY_ALERT_ACTION) return { classUid: OCSF_CLASS.detectionFinding, activityId: 1 };
  if (action in AUTHENTICATION) return { classUid: OCSF_CLASS.authentication, activityId: AUTHENTICATION[action] };
  if (action in ACCOUNT_CHANGE) return { classUid: OCSF_CLASS.accountChange, activityId: ACCOUNT_CHANGE[action] };
  return { classUid: OCSF_CLASS.apiActivity, activityId: undefined };
}

function severity(event: ChainedContent): number {
  if (event.action === SECURITY_ALERT_ACTION) return SEVERITY.high;
  return event.outcome === 'success' ? SEVERITY.informational : SEVERITY.medium;
}

/** The user an event concerns: its actor, else its target (an email at sign-in), else unknown. */
function userOf(event: ChainedContent): Record<string, unknown> {
  if (event.actorId) return { uid: event.actorId, ...(event.target ? { name: event.target } : {}) };
  return { name: event.target ?? 'unknown' };
}

function sourceOf(event: ChainedContent): Record<string, unknown> {
  // An event from a timer or the CLI has no client address: the server itself is its source.
  return event.ip ? { ip: event.ip } : { svc_name: PRODUCT.name };
}

/**
 * One audit event as an OCSF 1.3 record: sign-ins as Authentication (3002), account changes
 * as Account Change (3001), alerts as Detection Finding (2004), every other audited request
 * as API Activity (6003). The audit event's id is `metadata.uid`, its request id
 * `metadata.correlation_uid`; what OCSF has no place for goes in `unmapped`.
 */
export function toOcsf(event: ChainedContent): OcsfRecord {
  const { classUid, activityId: classActivity } = classOf(event.action);
  const method = typeof event.details.method === 'string' ? event.details.method : undefined;
  const activityId = classActivity ?? (method ? API_ACTIVITY_BY_METHOD[method] : undefined) ?? OTHER_ACTIVITY;
  const success = event.outcome === 'success';
  const record: OcsfRecord = {
    class_uid: classUid,
    category_uid: Math.floor(classUid / 1000),
    activity_id: activityId,
    type_uid: classUid * 100 + activityId,
    time: event.at.getTime(),
    severity_id: severity(event),
    status_id: success ? 1 : 2,
    status: success ? 'Success' : 'Failure',
    message: event.action,
    metadata: {
      version: OCSF_VERSION,
      product: PRODUCT,
      uid: event.id,
      ...(event.requestId ? { correlation_uid: event.requestId } : {}),
    },
    actor: { user: event.actorId ? { uid: event.actorId } : { name: 'anonymous' } },
    src_endpoint: sourceOf(event),
    ...(event.userAgent ? { http_request: { user_agent: event.userAgent } } : {}),
    unmapped: {
      action: event.action,
      outcome: event.outcome,
      target: event.target,
      auth_method: event.authMethod,
      credential_id: event.credentialId,
      status: event.status,
      latency_ms: event.latencyMs,
      details: event.details,
    },
  };
  if (classUid === OCSF_CLASS.authentication) {
    record.user = userOf(event);
    record.service = { name: PRODUCT.name };
  } else if (classUid === OCSF_CLASS.accountChange) {
    // The account changed: the user in the path of /users/:id, else the one who changed their own.
    const changed = event.action.startsWith('user.') ? (event.target ?? event.actorId) : undefined;
    record.user = changed ? { uid: changed } : userOf(event);
  } else if (classUid === OCSF_CLASS.detectionFinding) {
    const detector = typeof event.details.detector === 'string' ? event.details.detector : 'unknown';
    record.finding_info = { uid: event.id, title: `Security alert: ${detector}`, types: [detector] };
    record.is_alert = true;
  } else {
    record.api = { operation: event.action, ...(event.requestId ? { request: { uid: event.requestId } } : {}) };
  }
  return record;
}

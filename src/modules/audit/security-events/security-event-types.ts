/**
 * The catalogue of security events sent to ALERT_WEBHOOK_URL (docs/security-events.md
 * describes each). A receiver may rely on a type's meaning and its data fields; new fields
 * may be added, none removed. Types marked reserved are named now so receivers can plan for
 * them; nothing emits them yet (they come with the MFA and mail work).
 */
export const SECURITY_EVENT_TYPES = {
  /** A detector fired (burst of failed sign-ins, denied requests, refresh-token reuse, key from a new address). */
  alert: 'security.alert',
  /** The signed head of the audit chain (a JWS); keep the newest to check the trail with audit:verify. */
  checkpoint: 'audit.checkpoint',
  /** An API key, personal token or OAuth client was created or rotated. */
  credentialCreated: 'credential.created',
  /** An API key, personal token or OAuth client was revoked or deleted. */
  credentialRevoked: 'credential.revoked',
  /** A rotated refresh token was presented again: its family is revoked. */
  refreshTokenReused: 'auth.refresh-token-reused',
  /** A user's roles changed. */
  rolesChanged: 'user.roles-changed',
  /** A user's password changed (every credential of theirs ended). */
  passwordChanged: 'user.password-changed',
  /** A user was deactivated. */
  deactivated: 'user.deactivated',
  /** Every credential of a user ended but the one asking (sign-out everywhere, or an administrator's). */
  signedOutEverywhere: 'user.signed-out-everywhere',
  /** Reserved: an MFA factor was added or removed. */
  mfaChanged: 'user.mfa-changed',
  /** Reserved: a sign-in from a device not seen before for this user. */
  newDeviceSignIn: 'auth.new-device-sign-in',
} as const;

export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[keyof typeof SECURITY_EVENT_TYPES];

/** Reserved types: listed in the catalogue, not emitted yet. */
export const RESERVED_SECURITY_EVENT_TYPES: readonly SecurityEventType[] = [
  SECURITY_EVENT_TYPES.mfaChanged,
  SECURITY_EVENT_TYPES.newDeviceSignIn,
];

/** Audit actions (on success) that are security events too, with the credential kind they concern. */
export const CREDENTIAL_ACTIONS: Readonly<Record<string, { type: SecurityEventType; kind: string }>> = {
  'api-key.create': { type: SECURITY_EVENT_TYPES.credentialCreated, kind: 'api-key' },
  'api-key.rotate': { type: SECURITY_EVENT_TYPES.credentialCreated, kind: 'api-key' },
  'personal-token.create': { type: SECURITY_EVENT_TYPES.credentialCreated, kind: 'personal-token' },
  'oauth-client.create': { type: SECURITY_EVENT_TYPES.credentialCreated, kind: 'oauth-client' },
  'api-key.revoke': { type: SECURITY_EVENT_TYPES.credentialRevoked, kind: 'api-key' },
  'personal-token.delete': { type: SECURITY_EVENT_TYPES.credentialRevoked, kind: 'personal-token' },
  'oauth-client.delete': { type: SECURITY_EVENT_TYPES.credentialRevoked, kind: 'oauth-client' },
  // DELETE /auth/credentials/:id ends a credential of any kind from the inventory.
  'credential.end': { type: SECURITY_EVENT_TYPES.credentialRevoked, kind: 'credential' },
};

/** The audit action of a refresh token presented again after its rotation. */
export const REFRESH_REUSE_ACTION = 'auth.refresh.reuse';

/**
 * The two vocabularies of credentials, in one place. `AuthMethod` is what a request carried
 * (the principal's `authMethod`, the audit trail's `authMethod`); `CredentialKind` is what a
 * user holds, as the credential inventory lists it and as revocations name it.
 */
export const AUTH_METHODS = ['jwt', 'oauth', 'token', 'session', 'api-key'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const CREDENTIAL_KINDS = [
  'session',
  'refresh-family',
  'personal-token',
  'api-key',
  'oauth-grant',
  'passkey',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * First-party sign-in credentials: what signing in hands out (a JWT from login, refresh or
 * MFA verification, or a session). Only these may create, rotate or end credentials.
 */
export const FIRST_PARTY_METHODS: ReadonlySet<AuthMethod> = new Set(['jwt', 'session']);

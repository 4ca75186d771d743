/**
 * Every audit action this server writes, the second security vocabulary after permissions.
 * `@Audited(action)`, every emitter and the alert detectors take an `AuditAction`, so a
 * typo is a type error rather than an alert that silently never fires. `npm run new:module`
 * adds a generated module's actions at the end.
 */
export const AUDIT_ACTIONS = [
  // Signing in and out, credentials refused (auth)
  'auth.login',
  'auth.lockout',
  'auth.logout',
  'auth.refresh.reuse',
  'auth.password.change',
  'auth.session.end',
  'auth.credential.refused',
  'auth.sign-out-everywhere',
  // Account lifecycle over mail: email proof and change, password recovery
  'auth.email.verify',
  'auth.email.change-request',
  'auth.email.change',
  'auth.password.forgot',
  'auth.password.reset',
  // Second factors: the sign-in's second step, passkeys, step-up, enrolment and its changes
  'auth.mfa.required',
  'auth.mfa.verify',
  'auth.passkey',
  'auth.reauthenticate',
  'mfa.totp.begin',
  'mfa.totp.confirm',
  'mfa.totp.delete',
  'mfa.recovery-codes.regenerate',
  'mfa.factors.reset',
  'mfa.passkey.register',
  'mfa.passkey.delete',
  'mfa.passkey.registration',
  'mfa.passkey.authentication',
  // One credential ended from the inventory, or all of a user's by an admin
  'credential.end',
  'user.credentials.end',
  // Accounts (users, the create-admin command)
  'user.register',
  'user.create-admin',
  'user.update',
  'user.delete',
  // Personal tokens and API keys
  'personal-token.create',
  'personal-token.delete',
  'api-key.create',
  'api-key.rotate',
  'api-key.revoke',
  'api-key.use',
  'api-key.new-address',
  // OAuth: client registration, the authorization server's own events, consent
  'oauth-client.create',
  'oauth-client.delete',
  'oauth.authorize',
  'oauth.consent',
  'oauth.grant',
  'oauth.grant.revoke',
  'oauth.introspect',
  'oauth.revoke',
  'oauth.token.issue',
  'oauth.token.revoke',
  // Resources (the reference module)
  'resource.create',
  'resource.update',
  'resource.delete',
  // Refusals recorded by the problem-details filter, and the alerts raised on patterns
  'access.denied',
  'rate-limit.exceeded',
  'security.alert',
  // The writer's account of events it could not hold (a full buffer)
  'audit.events-not-recorded',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

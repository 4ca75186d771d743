/**
 * The test apps and server processes run with no role requiring a second factor, so the
 * admins of the tests of everything else act as before; test/e2e/mfa-enforcement.e2e-spec.ts
 * runs the default (`admin`), and the README's examples run on the default configuration.
 */
export const NO_MFA_REQUIRED_ROLES = { MFA_REQUIRED_ROLES: '' } as const;

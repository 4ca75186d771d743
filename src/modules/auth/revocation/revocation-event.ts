import type { CredentialKind } from '../../../common/auth/credential-kind.js';

/** What one instance tells the others. Consumers (caches of keys, tokens) listen too. */
export type RevocationEvent =
  | { type: 'access-token'; jti: string; userId: string; expiresAtMs: number }
  /**
   * Every token of the user issued before now dies: first-party access tokens by their `gen`
   * claim (exact: it is read in the issuing transaction), the OAuth server's by their `iat`.
   */
  | { type: 'user'; userId: string; tokensValidAfterMs: number; generation: number }
  | { type: 'credential'; kind: CredentialKind; id: string; userId: string };

/**
 * DPoP (RFC 9449): the proof algorithms the authorization server binds tokens with and the
 * API accepts proofs in, and the challenge a refused DPoP-capable request gets. Pure code,
 * shared by the OAuth module, the credential guard and the OpenAPI document.
 */
export const DPOP_SIGNING_ALGS = ['ES256', 'EdDSA'] as const;

/** `WWW-Authenticate: DPoP ...` (RFC 9449 section 7.1), with the RFC 6750 error when a token was refused. */
export function dpopChallenge(error?: 'invalid_token' | 'invalid_dpop_proof'): string {
  const refusal = error ? `, error="${error}"` : '';
  return `DPoP realm="api"${refusal}, algs="${DPOP_SIGNING_ALGS.join(' ')}"`;
}

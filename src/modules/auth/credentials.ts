import type { Request } from 'express';
import type { AuthMethod } from '../../common/auth/credential-kind.js';
import { dpopChallenge } from '../../common/auth/dpop.js';
import { BadRequestError } from '../../common/errors/app-error.js';

/** The credential a request carries, as its headers show it ('unsupported': a scheme we do not know). */
export type PresentedCredentialKind = AuthMethod | 'unsupported';

export const SESSION_COOKIE = 'sid';

export interface PresentedCredential {
  kind: PresentedCredentialKind;
  /** The scheme named in WWW-Authenticate when this credential is refused. */
  challengeScheme: string;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function fromAuthorization(header: string): PresentedCredential {
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return { kind: JWT_SHAPE.test(value) ? 'jwt' : 'oauth', challengeScheme: 'Bearer' };
    // A DPoP-bound OAuth token (RFC 9449), with its proof in the DPoP header.
    case 'dpop':
      return { kind: 'oauth', challengeScheme: 'DPoP' };
    case 'token':
      return { kind: 'token', challengeScheme: 'Token' };
    case 'api-key':
      return { kind: 'api-key', challengeScheme: 'Api-Key' };
    default:
      // An unknown scheme is a credential we cannot check: refused, never anonymous.
      return { kind: 'unsupported', challengeScheme: 'Bearer' };
  }
}

/**
 * `WWW-Authenticate` for a credential that was refused (RFC 6750 section 3; RFC 9449
 * section 7.1). A refused OAuth token also learns that DPoP is accepted: a bound token
 * sent as `Bearer` is refused, and must come back as `DPoP`.
 */
export function refusalChallenge(credential: PresentedCredential): string {
  const bearer =
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid, expired or revoked"';
  if (credential.challengeScheme === 'DPoP') return dpopChallenge('invalid_token');
  if (credential.challengeScheme !== 'Bearer') return `${credential.challengeScheme} realm="api"`;
  return credential.kind === 'oauth' ? `${bearer}, ${dpopChallenge()}` : bearer;
}

/** Every credential a request's headers and cookies present, in the order they are looked at. */
function credentialsIn(request: Request): PresentedCredential[] {
  const found: PresentedCredential[] = [];
  const authorization = request.headers.authorization;
  if (authorization !== undefined) found.push(fromAuthorization(authorization));
  if (request.headers['x-api-key'] !== undefined) found.push({ kind: 'api-key', challengeScheme: 'Api-Key' });
  if (typeof request.cookies?.[SESSION_COOKIE] === 'string') found.push({ kind: 'session', challengeScheme: 'Cookie' });
  return found;
}

/** Whether a request presents any credential, good, bad or ambiguous; without one it is anonymous. */
export function carriesCredential(request: Request): boolean {
  return credentialsIn(request).length > 0;
}

/**
 * The one credential a request carries, or undefined. Two different credentials are
 * ambiguous (whose request is it?) and refused with 400 rather than guessed at.
 */
export function presentedCredential(request: Request): PresentedCredential | undefined {
  const found = credentialsIn(request);
  if (found.length > 1) {
    throw new BadRequestError(
      `Send one credential per request; this one has ${found.map((c) => c.kind).join(' and ')}.`,
    );
  }
  return found[0];
}

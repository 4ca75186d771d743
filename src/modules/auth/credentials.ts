import type { Request } from 'express';
import type { AuthMethod } from '../../common/auth/credential-kind.js';
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
 * The one credential a request carries, or undefined. Two different credentials are
 * ambiguous (whose request is it?) and refused with 400 rather than guessed at.
 */
export function presentedCredential(request: Request): PresentedCredential | undefined {
  const found: PresentedCredential[] = [];
  const authorization = request.headers.authorization;
  if (authorization !== undefined) found.push(fromAuthorization(authorization));
  if (request.headers['x-api-key'] !== undefined) found.push({ kind: 'api-key', challengeScheme: 'Api-Key' });
  if (typeof request.cookies?.[SESSION_COOKIE] === 'string') found.push({ kind: 'session', challengeScheme: 'Cookie' });
  if (found.length > 1) {
    throw new BadRequestError(
      `Send one credential per request; this one has ${found.map((c) => c.kind).join(' and ')}.`,
    );
  }
  return found[0];
}

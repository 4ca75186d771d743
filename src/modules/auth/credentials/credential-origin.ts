import type { Request } from 'express';
import { clientAddress } from '../../../common/http/client-address.js';

/** Where a credential was created from, as the inventory shows it. */
export interface CredentialOrigin {
  ip: string | null;
  userAgent: string | null;
}

const MAX_USER_AGENT = 256;

export function originOf(request: Request): CredentialOrigin {
  const userAgent = request.headers['user-agent'];
  return {
    ip: clientAddress(request).slice(0, 64),
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT) : null,
  };
}

export const NO_ORIGIN: CredentialOrigin = { ip: null, userAgent: null };

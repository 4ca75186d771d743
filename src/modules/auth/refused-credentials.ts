import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { addressBucket, clientAddress } from '../../common/http/client-address.js';
import type { PresentedCredential } from './credentials.js';

/** Refused credentials remembered per instance; past it the least recently refused are forgotten. */
const CAPACITY = 10_000;
/** How long a refusal is remembered: a flood's steady state, not a ban list. */
const TTL_MS = 60_000;

/**
 * Credentials refused lately, by address bucket and a digest of what was presented (never
 * the value itself), so the same refused token sent again from the same place is refused
 * without its strategy running again (a signature check, a database read). A refusal is
 * final for every credential kept here: a token whose signature or secret does not check
 * out, that expired, or that was revoked never becomes valid. Not kept: sessions (the
 * stale-session path needs the lookup) and DPoP requests (the proof, not the token, may be
 * what failed). The address is part of the key because a refusal can depend on where a
 * credential comes from.
 */
export class RefusedCredentials {
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly capacity = CAPACITY,
    private readonly ttlMs = TTL_MS,
  ) {}

  /** The key for this request's credential, or undefined when its refusal must not be remembered. */
  keyOf(credential: PresentedCredential, request: Request): string | undefined {
    if (credential.kind === 'session' || credential.challengeScheme === 'DPoP') return undefined;
    const presented = request.headers.authorization ?? request.headers['x-api-key'];
    if (typeof presented !== 'string') return undefined;
    const digest = createHash('sha256').update(presented).digest('base64url');
    return `${addressBucket(clientAddress(request))} ${digest}`;
  }

  has(key: string, now = Date.now()): boolean {
    const until = this.refused.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.refused.delete(key);
    return false;
  }

  remember(key: string, now = Date.now()): void {
    this.refused.delete(key);
    this.refused.set(key, now + this.ttlMs);
    if (this.refused.size > this.capacity) {
      const oldest = this.refused.keys().next();
      if (!oldest.done) this.refused.delete(oldest.value);
    }
  }
}

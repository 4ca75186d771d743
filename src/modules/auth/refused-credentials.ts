import { hash } from 'node:crypto';
import type { Request } from 'express';
import { clientBucket } from '../../common/http/client-address.js';
import { oncePerRequest } from '../../common/http/once-per-request.js';
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

  /**
   * Whether this request's credential was refused lately from its address. With nothing
   * remembered (no one is being refused) it answers without hashing the credential, so a
   * valid request pays nothing for the memory of refusals.
   */
  isRefused(credential: PresentedCredential, request: Request, now = Date.now()): boolean {
    this.forgetExpired(now);
    if (this.refused.size === 0) return false;
    const key = keyOf(credential, request);
    const until = key === undefined ? undefined : this.refused.get(key);
    return until !== undefined && until > now;
  }

  /**
   * Every refusal is kept for the same time and re-inserted when renewed, so the map is in
   * expiry order: the expired ones are at its head.
   */
  private forgetExpired(now: number): void {
    for (const [key, until] of this.refused) {
      if (until > now) return;
      this.refused.delete(key);
    }
  }

  /** Remembers the refusal of this request's credential, unless its kind is never kept. */
  remember(credential: PresentedCredential, request: Request, now = Date.now()): void {
    const key = keyOf(credential, request);
    if (key === undefined) return;
    this.refused.delete(key);
    this.refused.set(key, now + this.ttlMs);
    if (this.refused.size > this.capacity) {
      const oldest = this.refused.keys().next();
      if (!oldest.done) this.refused.delete(oldest.value);
    }
  }
}

const PRESENTED_KEY = Symbol('refused-credential key');

/** The key for a request's credential, or undefined when its refusal must not be remembered. */
function keyOf(credential: PresentedCredential, request: Request): string | undefined {
  if (credential.kind === 'session' || credential.challengeScheme === 'DPoP') return undefined;
  // Once per request: a credential refused again is looked up and then remembered afresh.
  return oncePerRequest(request, PRESENTED_KEY, () => presentedKey(request));
}

/** Where the request comes from and a digest of what it presented: the request's alone. */
function presentedKey(request: Request): string | undefined {
  const presented = request.headers.authorization ?? request.headers['x-api-key'];
  if (typeof presented !== 'string') return undefined;
  return `${clientBucket(request)} ${hash('sha256', presented, 'base64url')}`;
}

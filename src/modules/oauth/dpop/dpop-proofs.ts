import { hash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWTPayload } from 'jose';
import { DPOP_SIGNING_ALGS } from '../../../common/auth/dpop.js';
import { AppConfig } from '../../../config/app-config.js';
import { DpopReplayCache } from './dpop-replay-cache.js';

/** How far a proof's `iat` may be from now, either way (clock skew included). */
const PROOF_WINDOW_SECONDS = 60;
/** A proof is a small JWS with a public key in its header; anything far larger is not one. */
const MAX_PROOF_LENGTH = 4_096;
const MAX_JTI_LENGTH = 256;

/**
 * Checks the DPoP proof (RFC 9449 section 4.3) that must come with a key-bound access token
 * at the API: signed by the key embedded in it (jose verifies, and refuses a private key
 * there), for this method and this URL on PUBLIC_URL (never the request's Host), fresh,
 * bound to this very token (`ath`), by the key the token was bound to (`cnf.jkt`), and never
 * seen before on any instance (`jti`).
 */
@Injectable()
export class DpopProofs {
  constructor(
    private readonly config: AppConfig,
    private readonly replays: DpopReplayCache,
  ) {}

  async verify(request: Request, accessToken: string, boundThumbprint: string): Promise<boolean> {
    const proof = request.headers.dpop;
    // Two DPoP headers arrive joined by a comma, which no compact JWS contains.
    if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH) return false;
    let payload: JWTPayload;
    let thumbprint: string;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_SIGNING_ALGS] });
      payload = verified.payload;
      thumbprint = await calculateJwkThumbprint(verified.protectedHeader.jwk ?? {}, 'sha256');
    } catch {
      return false;
    }
    const now = Math.floor(Date.now() / 1000);
    const { iat, jti } = payload;
    if (typeof iat !== 'number' || Math.abs(now - iat) > PROOF_WINDOW_SECONDS) return false;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return false;
    if (payload.htm !== request.method || !this.isThisUrl(payload.htu, request)) return false;
    if (payload.ath !== hash('sha256', accessToken, 'base64url')) return false;
    if (thumbprint !== boundThumbprint) return false;
    // Last, so that only a proof good in every other way uses up its id.
    const replayKey = hash('sha256', `${thumbprint}.${jti}`, 'base64url');
    return this.replays.firstUse(replayKey, 2 * PROOF_WINDOW_SECONDS);
  }

  /** `htu` names PUBLIC_URL and this path; query and fragment are not part of it (section 4.3). */
  private isThisUrl(htu: unknown, request: Request): boolean {
    if (typeof htu !== 'string') return false;
    const claimed = URL.parse(htu);
    if (!claimed) return false;
    claimed.search = '';
    claimed.hash = '';
    const path = new URL(request.originalUrl, 'http://path.invalid').pathname;
    return claimed.href === new URL(`${this.config.app.publicUrl}${path}`).href;
  }
}

import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import jwt, { type JwtHeader, type VerifyOptions } from 'jsonwebtoken';
import { makePrincipal, type Principal } from '../../../common/auth/principal.js';
import { isRole, permissionsOfRoles, type Role } from '../../../common/auth/roles.js';
import {
  isAuthenticationMethod,
  type AuthenticationMethod,
  type SignInProof,
} from '../../../common/auth/sign-in-proof.js';
import { AppConfig } from '../../../config/app-config.js';
import { RevocationService } from '../revocation/revocation.service.js';
import { SigningKeysService } from './signing-keys.service.js';
import { JWT_ALGORITHM } from './signing-keys.js';

/** RFC 9068 access token claims, plus the roles they were issued for. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  exp: number;
  iat: number;
  jti: string;
  scope: string;
  roles: Role[];
  /** The user's cut-off generation when issued: a cut-off since (a newer generation) ends the token. */
  gen: number;
  /** When the user signed in (or last stepped up) for this token's sign-in, epoch seconds (OIDC, RFC 9470). */
  auth_time: number;
  /** How they signed in (RFC 8176). */
  amr: AuthenticationMethod[];
}

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
  /** Epoch seconds. */
  expiresAt: number;
}

export class InvalidAccessTokenError extends Error {}

/** Allowed clock difference between this server and whoever minted or checks a token. */
const CLOCK_LEEWAY_SECONDS = 5;
/** first-party tokens come from /auth/login, not from an OAuth client. */
const FIRST_PARTY_CLIENT = 'first-party';
const AT_JWT = /^(application\/)?at\+jwt$/i;
/** Tokens whose signature and claims were checked once; bounded, oldest dropped first. */
const VERIFIED_CACHE_SIZE = 10_000;

interface VerifiedToken {
  claims: AccessTokenClaims;
  principal: Principal;
}

@Injectable()
export class AccessTokensService {
  /**
   * ECDSA verification is most of a JWT request's cost, and a client sends the same token
   * for minutes: a token string whose signature and claims passed once need not be verified
   * again until it expires. Keyed by the exact token, so any change to it is a miss.
   * Revocation is still checked on every request.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly config: AppConfig,
    private readonly keys: SigningKeysService,
    private readonly revocation: RevocationService,
  ) {}

  /**
   * `generation`: the user's cut-off generation as the issuing transaction read it from the
   * database, under the user's row lock (this instance may not have heard of it yet).
   */
  async issue(user: { id: string; roles: Role[] }, generation: number, proof: SignInProof): Promise<IssuedAccessToken> {
    const key = this.keys.current;
    const jti = randomUUID();
    const iat = Math.floor(Date.now() / 1000);
    const expiresIn = this.config.auth.accessTtlSeconds;
    const claims: Omit<AccessTokenClaims, 'iss' | 'aud' | 'sub' | 'exp' | 'iat' | 'jti'> = {
      client_id: FIRST_PARTY_CLIENT,
      scope: [...permissionsOfRoles(user.roles)].join(' '),
      roles: user.roles,
      gen: generation,
      auth_time: proof.authTime,
      amr: [...proof.amr],
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: JWT_ALGORITHM, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(this.config.auth.issuer)
      .setAudience(this.config.auth.audience)
      .setSubject(user.id)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + expiresIn)
      .sign(key.privateKey);
    return { token, jti, expiresIn, expiresAt: iat + expiresIn };
  }

  /**
   * What jsonwebtoken (under passport-jwt and /verify alike) enforces: our algorithm only
   * (so no `none`, no HS256 keyed with the public key), our issuer and audience, a small
   * clock leeway, and the header back for the `typ` check.
   */
  get verifyOptions(): VerifyOptions & { complete: true; issuer: string; audience: string } {
    return {
      algorithms: [JWT_ALGORITHM],
      issuer: this.config.auth.issuer,
      audience: this.config.auth.audience,
      clockTolerance: CLOCK_LEEWAY_SECONDS,
      complete: true,
    };
  }

  /** The public key for a token's `kid`; only keys of our own set are ever used. */
  keyFor(token: string): ReturnType<SigningKeysService['find']> {
    const decoded = jwt.decode(token, { complete: true });
    return this.keys.find(decoded?.header.kid);
  }

  /** A token verified earlier and not yet expired, if still not revoked: the hot path. */
  recall(token: string): { verified: VerifiedToken | undefined; revoked: boolean } {
    const verified = this.verified.get(token);
    if (!verified) return { verified: undefined, revoked: false };
    if (verified.claims.exp + CLOCK_LEEWAY_SECONDS < Date.now() / 1000) {
      this.verified.delete(token);
      return { verified: undefined, revoked: false };
    }
    const { jti, sub, gen } = verified.claims;
    return { verified, revoked: this.revocation.isAccessTokenRevoked(jti, sub, gen) };
  }

  /** Remembers a token that passed verification (signature, claims, not revoked). */
  remember(token: string, claims: AccessTokenClaims): Principal {
    const principal = this.toPrincipal(claims);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { claims, principal });
    return principal;
  }

  /** The checks after the signature: the RFC 9068 shape and revocation. */
  checkVerified(header: JwtHeader, payload: unknown): AccessTokenClaims {
    if (typeof header.typ !== 'string' || !AT_JWT.test(header.typ)) {
      throw new InvalidAccessTokenError('not an access token (typ)');
    }
    const claims = payload as Partial<AccessTokenClaims>;
    const wellFormed =
      typeof claims.sub === 'string' &&
      typeof claims.jti === 'string' &&
      typeof claims.iat === 'number' &&
      typeof claims.exp === 'number' &&
      typeof claims.scope === 'string' &&
      typeof claims.gen === 'number' &&
      typeof claims.auth_time === 'number' &&
      Array.isArray(claims.amr) &&
      claims.amr.every(isAuthenticationMethod) &&
      Array.isArray(claims.roles) &&
      claims.roles.every((role) => typeof role === 'string' && isRole(role));
    if (!wellFormed) throw new InvalidAccessTokenError('malformed claims');
    const verified = claims as AccessTokenClaims;
    if (this.revocation.isAccessTokenRevoked(verified.jti, verified.sub, verified.gen)) {
      throw new InvalidAccessTokenError('revoked');
    }
    return verified;
  }

  /** Full verification of a token given as data (POST /verify). */
  verify(token: string): AccessTokenClaims {
    const key = this.keyFor(token);
    if (!key) throw new InvalidAccessTokenError('unknown key');
    try {
      const { header, payload } = jwt.verify(token, key.publicKey, this.verifyOptions);
      return this.checkVerified(header, payload);
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) throw error;
      throw new InvalidAccessTokenError((error as Error).message);
    }
  }

  toPrincipal(claims: AccessTokenClaims): Principal {
    return makePrincipal({
      userId: claims.sub,
      roles: claims.roles,
      scopes: null,
      authMethod: 'jwt',
      credentialId: claims.jti,
      credentialExpiresAt: claims.exp,
      signIn: { authTime: claims.auth_time, amr: claims.amr },
    });
  }
}

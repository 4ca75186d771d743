import { createHmac, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKeysService } from '../../src/modules/auth/jwt/signing-keys.service.js';
import { signedIn, signUp, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

/** Beyond the server's 5 s clock leeway, so a leeway bug cannot hide behind it. */
const WELL_PAST_LEEWAY_SECONDS = 60;
const INVALID_TOKEN_CHALLENGE = /^Bearer realm="api", error="invalid_token"/;

interface Genuine {
  user: SignedUpUser;
  tokens: TokenPair;
  header: JWTHeaderParameters;
  claims: JWTPayload;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A fresh user's genuine access token, with its header and claims decoded. */
async function genuine(t: TestApp): Promise<Genuine> {
  const { user, tokens } = await signedIn(t.http);
  const header = decodeProtectedHeader(tokens.access_token) as JWTHeaderParameters;
  return { user, tokens, header, claims: decodeJwt(tokens.access_token) };
}

function mint(
  claims: JWTPayload,
  header: JWTHeaderParameters,
  key: KeyObject | CryptoKey | Uint8Array,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

/** Signed with the server's own private key, so only the changed claim or header can fail it. */
function mintWithServerKey(t: TestApp, g: Genuine, claims: JWTPayload = {}, header: Partial<JWTHeaderParameters> = {}) {
  return mint({ ...g.claims, ...claims }, { ...g.header, ...header }, t.app.get(SigningKeysService).current.privateKey);
}

/** A compact JWS assembled by hand: header and payload as given, then the signature part. */
function compact(header: object, payload: object, signature = ''): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.${signature}`;
}

async function serverPublicJwk(t: TestApp, kid: unknown): Promise<JsonWebKey> {
  const res = await t.http.get('/.well-known/jwks.json').expect(200);
  const key = (res.body.keys as (JsonWebKey & { kid: string })[]).find((k) => k.kid === kid);
  expect(key).toBeDefined();
  return key as JsonWebKey;
}

/** HS256 keyed with `secret`, built with node:crypto so no library refuses to make it. */
function hs256(header: object, payload: object, secret: string): string {
  const unsigned = compact({ ...header, alg: 'HS256' }, payload).slice(0, -1);
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

async function attackerKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', {
    extractable: true,
  });
  return {
    privateKey,
    publicJwk: {
      ...(await exportJWK(publicKey)),
      kid,
      alg: 'ES256',
      use: 'sig',
    },
  };
}

/** The attack fails: 401 problem+json with the RFC 6750 challenge on /me, and 401 on /verify. */
async function expectRefused(t: TestApp, token: string): Promise<void> {
  const me = await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${token}`);
  expectProblem(me, 401);
  expect(me.headers['www-authenticate']).toMatch(INVALID_TOKEN_CHALLENGE);
  expectProblem(await t.http.post('/api/v1/auth/verify').send({ token }), 401);
}

describe('JWT attacks on /api/v1/auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('controls', () => {
    it('should accept a genuine token sent with the scheme in lowercase', async () => {
      const { user, tokens } = await genuine(t);
      const res = await t.http.get('/api/v1/auth/me').set('Authorization', `bearer ${tokens.access_token}`).expect(200);
      expect(res.body).toMatchObject({ id: user.id, authMethod: 'jwt' });
    });

    it('should report a genuine token active, and a token re-signed by the server key unchanged too', async () => {
      const g = await genuine(t);
      const res = await t.http.post('/api/v1/auth/verify').send({ token: g.tokens.access_token }).expect(200);
      expect(res.body).toMatchObject({
        active: true,
        sub: g.user.id,
        jti: g.claims.jti,
      });
      // The forging helper itself yields a valid token: the claim tests below fail for their claim only.
      const remade = await mintWithServerKey(t, g);
      await t.http.get('/api/v1/auth/me').set('Authorization', `Bearer ${remade}`).expect(200);
      await t.http.post('/api/v1/auth/verify').send({ token: remade }).expect(200);
    });

    it('should answer 400 to a genuine token sent with a second credential', async () => {
      const { tokens } = await genuine(t);
      const res = await t.http
        .get('/api/v1/auth/me')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .set('X-API-Key', 'x');
      expectProblem(res, 400);
    });
  });

  describe('forged signatures', () => {
    it('should refuse alg none', async () => {
      const g = await genuine(t);
      await expectRefused(t, compact({ alg: 'none', typ: 'at+jwt', kid: g.header.kid }, g.claims));
      await expectRefused(t, compact({ alg: 'None', typ: 'at+jwt', kid: g.header.kid }, g.claims));
    });

    it('should refuse HS256 keyed with the server public key, as PEM or as JWK JSON', async () => {
      const g = await genuine(t);
      const jwk = await serverPublicJwk(t, g.header.kid);
      const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      const header = { typ: 'at+jwt', kid: g.header.kid };
      for (const secret of [pem, pem.trim(), JSON.stringify(jwk)]) {
        await expectRefused(t, hs256(header, g.claims, secret));
      }
    });

    it('should refuse a token signed by an unknown key', async () => {
      const g = await genuine(t);
      const attacker = await attackerKey('attacker');
      await expectRefused(
        t,
        await mint(g.claims, { alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }, attacker.privateKey),
      );
    });

    it('should refuse a key offered through jku, x5u or an embedded jwk header', async () => {
      const g = await genuine(t);
      const attacker = await attackerKey('attacker');
      const base = { alg: 'ES256', typ: 'at+jwt' };
      const headers: JWTHeaderParameters[] = [
        { ...base, kid: 'attacker', jku: 'http://127.0.0.1:1/jwks.json' },
        { ...base, kid: 'attacker', x5u: 'http://127.0.0.1:1/cert.pem' },
        { ...base, kid: g.header.kid, jwk: attacker.publicJwk },
      ];
      for (const header of headers) await expectRefused(t, await mint(g.claims, header, attacker.privateKey));
    });

    it('should refuse a genuine token whose last signature character was changed', async () => {
      const { tokens } = await genuine(t);
      const last = tokens.access_token.at(-1) ?? '';
      // The last of 86 characters carries 2 signature bits and 4 padding bits: flip a signature bit.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const changed = alphabet[alphabet.indexOf(last) ^ 0b100000];
      const forged = `${tokens.access_token.slice(0, -1)}${changed}`;
      expect(Buffer.from(forged.split('.')[2] ?? '', 'base64url')).not.toEqual(
        Buffer.from(tokens.access_token.split('.')[2] ?? '', 'base64url'),
      );
      await expectRefused(t, forged);
    });

    it('should refuse a payload tampered to another subject or to admin under the original signature', async () => {
      const g = await genuine(t);
      const victim = await signUp(t.http);
      const [header = '', , signature = ''] = g.tokens.access_token.split('.');
      for (const change of [{ sub: victim.id }, { roles: ['admin'] }]) {
        await expectRefused(
          t,
          `${header}.${base64url.encode(JSON.stringify({ ...g.claims, ...change }))}.${signature}`,
        );
      }
    });
  });

  describe('claims signed with the server key', () => {
    it('should refuse an expired token beyond the clock leeway', async () => {
      const g = await genuine(t);
      const exp = nowSeconds() - WELL_PAST_LEEWAY_SECONDS;
      await expectRefused(t, await mintWithServerKey(t, g, { iat: exp - 300, exp }));
    });

    it('should refuse a token that is not yet valid', async () => {
      const g = await genuine(t);
      await expectRefused(t, await mintWithServerKey(t, g, { nbf: nowSeconds() + 600 }));
    });

    it('should refuse a token from another issuer', async () => {
      const g = await genuine(t);
      await expectRefused(t, await mintWithServerKey(t, g, { iss: 'https://attacker.example' }));
    });

    it('should refuse a token for another audience', async () => {
      const g = await genuine(t);
      await expectRefused(t, await mintWithServerKey(t, g, { aud: 'another-api' }));
    });

    it('should refuse a JWT that is not typed as an access token', async () => {
      const g = await genuine(t);
      await expectRefused(t, await mintWithServerKey(t, g, {}, { typ: 'JWT' }));
      const { typ: _typ, ...untyped } = g.header;
      await expectRefused(t, await mint(g.claims, untyped, t.app.get(SigningKeysService).current.privateKey));
    });
  });

  describe('stolen credentials', () => {
    it('should kill the family when a stolen refresh token is replayed after the victim rotated it', async () => {
      const { tokens } = await genuine(t);
      const victim = await t.http
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: victim.body.refresh_token }), 401);
    });

    it('should kill the family, the attacker rotation included, when the victim presents the stolen token', async () => {
      const { tokens } = await genuine(t);
      const attacker = await t.http
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
      expectProblem(
        await t.http.post('/api/v1/auth/refresh').send({ refresh_token: attacker.body.refresh_token }),
        401,
      );
    });

    // docs/auth-flows.md: a rotated refresh token presented again revokes the family "and every
    // access token it handed out".
    it('should refuse every access token the family handed out once a replayed refresh token kills it', async () => {
      const { tokens } = await genuine(t);
      const victim = await t.http
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: tokens.refresh_token })
        .expect(200);
      // Both are good until the replay (and now sit in the verified-token cache).
      for (const access of [tokens.access_token, victim.body.access_token as string]) {
        await t.http.get('/api/v1/auth/me').set(bearer(access)).expect(200);
      }
      expectProblem(await t.http.post('/api/v1/auth/refresh').send({ refresh_token: tokens.refresh_token }), 401);
      await expectRefused(t, tokens.access_token);
      await expectRefused(t, victim.body.access_token as string);
    });

    it('should refuse the access token after logout', async () => {
      const { tokens } = await genuine(t);
      await t.http
        .post('/api/v1/auth/logout')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .send({ refresh_token: tokens.refresh_token })
        .expect(204);
      await expectRefused(t, tokens.access_token);
    });
  });
});

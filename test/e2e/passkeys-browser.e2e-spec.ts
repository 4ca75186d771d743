import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { logIn, signUp, type TokenPair } from '../factories/auth.js';
import { launchChromium } from '../factories/chromium.js';
import { freePort } from '../factories/oauth.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { expectProblem } from '../support/problem-details.js';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A platform authenticator that verifies its user; Chromium's defaults make it device-bound (BE unset). */
const AUTHENTICATOR = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
} as const;

/** The authenticator data's flags (UV 0x04, BE 0x08) and signature counter, as the server reads them. */
function signedData(response: unknown): { userVerified: boolean; backupEligible: boolean; counter: number } {
  const data = Buffer.from((response as AuthenticationResponseJSON).response.authenticatorData, 'base64url');
  const flags = data[32] ?? 0;
  return { userVerified: (flags & 0x04) !== 0, backupEligible: (flags & 0x08) !== 0, counter: data.readUInt32BE(33) };
}

/**
 * Passkeys through Chromium's own WebAuthn stack and a virtual authenticator (DevTools
 * `WebAuthn.addVirtualAuthenticator`), on a page of the server's origin: the RP ID and
 * origin the server checks are PUBLIC_URL's (`localhost`, as an IP address cannot be an RP ID).
 * The ceremonies' HTTP calls are the test's; only navigator.credentials runs in the page.
 */
describe('Passkeys in a real browser', () => {
  let t: TestApp;
  let origin: string;
  let chromium: Browser;
  let context: BrowserContext;
  let page: Page;
  let devtools: CDPSession;
  let authenticatorId: string;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    t = await startTestApp({ PUBLIC_URL: origin });
    await t.app.listen(port, '127.0.0.1');
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.close();
  });
  beforeEach(async () => {
    context = await chromium.newContext();
    page = await context.newPage();
    await page.goto(`${origin}/health/live`);
    devtools = await context.newCDPSession(page);
    await devtools.send('WebAuthn.enable');
    ({ authenticatorId } = await devtools.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR }));
  });
  afterEach(() => context?.close());

  /** navigator.credentials.create() with the server's options; the RegistrationResponseJSON. */
  const create = (options: unknown) =>
    page.evaluate(async (json) => {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
        json as PublicKeyCredentialCreationOptionsJSON,
      );
      const credential = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential;
      return credential.toJSON() as unknown;
    }, options);

  /** navigator.credentials.get() with the server's options; the AuthenticationResponseJSON. */
  const get = (options: unknown) =>
    page.evaluate(async (json) => {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json as PublicKeyCredentialRequestOptionsJSON);
      const credential = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential;
      return credential.toJSON() as unknown;
    }, options);

  async function registerPasskey(tokens: TokenPair, name = 'Laptop'): Promise<{ id: string }> {
    const options = await t.http
      .post('/api/v1/auth/passkeys/registration/options')
      .set(bearer(tokens.access_token))
      .expect(200);
    const response = await create(options.body);
    const res = await t.http
      .post('/api/v1/auth/passkeys/registration')
      .set(bearer(tokens.access_token))
      .send({ name, response })
      .expect(201);
    expect(res.body).toMatchObject({ name, id: expect.any(String) as string, createdAt: expect.any(String) as string });
    return res.body as { id: string };
  }

  async function assertion(): Promise<unknown> {
    const options = await t.http.post('/api/v1/auth/passkeys/authentication/options').send({}).expect(200);
    expect(options.body).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    return get(options.body);
  }

  /** The passkey's row: the counter last seen and when it last signed in. */
  async function stored(id: string): Promise<{ counter: string; lastUsedAt: Date | null }> {
    const [row] = (await t.app
      .get(DataSource)
      .query(`SELECT counter, last_used_at AS "lastUsedAt" FROM passkeys WHERE id = $1`, [id])) as {
      counter: string;
      lastUsedAt: Date | null;
    }[];
    if (!row) throw new Error(`no passkey ${id}`);
    return row;
  }

  /** The one credential an authenticator holds, private key and signature counter included. */
  async function heldCredential(id: string) {
    const { credentials } = await devtools.send('WebAuthn.getCredentials', { authenticatorId: id });
    expect(credentials).toHaveLength(1);
    const [credential] = credentials;
    if (!credential) throw new Error(`authenticator ${id} holds no credential`);
    return credential;
  }

  /** Sends an assertion that must be refused: 401 problem+json, and no token or cookie. */
  async function expectRefused(response: unknown): Promise<void> {
    const res = await t.http.post('/api/v1/auth/passkeys/authentication').send({ response });
    expectProblem(res, 401);
    expect(res.body).not.toHaveProperty('access_token');
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(res.headers['set-cookie']).toBeUndefined();
  }

  it('should register a passkey and sign in with it, and refuse the same (cloned) assertion again', async () => {
    const user = await signUp(t.http);
    const tokens = await logIn(t.http, user);
    const passkey = await registerPasskey(tokens);

    const listed = await t.http.get('/api/v1/auth/passkeys').set(bearer(tokens.access_token)).expect(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: passkey.id, name: 'Laptop' })]);
    const inventory = await t.http.get('/api/v1/auth/credentials').set(bearer(tokens.access_token)).expect(200);
    expect(inventory.body.data).toContainEqual(
      expect.objectContaining({ id: passkey.id, kind: 'passkey', name: 'Laptop' }),
    );

    const response = await assertion();
    const signedIn = await t.http.post('/api/v1/auth/passkeys/authentication').send({ response }).expect(200);
    const pair = signedIn.body as TokenPair;
    const claims = decodeJwt(pair.access_token);
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(['hwk', 'mfa']);
    await t.http.get('/api/v1/auth/me').set(bearer(pair.access_token)).expect(200);

    const replayed = await t.http.post('/api/v1/auth/passkeys/authentication').send({ response });
    expectProblem(replayed, 401);
    expect(replayed.body).not.toHaveProperty('access_token');
  });

  // docs/auth-flows.md (Passkeys): "`POST /authentication/options` (discoverable credentials: an
  // `email` is accepted and not used, so the answer tells nothing about which accounts exist)".
  it('should answer the same sign-in options for an account with a passkey, an address with no account and no address', async () => {
    const user = await signUp(t.http);
    await registerPasskey(await logIn(t.http, user));
    const held = await heldCredential(authenticatorId);
    const credentialId = Buffer.from(held.credentialId, 'base64').toString('base64url');
    const optionsFor = async (body: object) => {
      const res = await t.http.post('/api/v1/auth/passkeys/authentication/options').send(body).expect(200);
      expect(res.text).not.toContain(credentialId);
      const { challenge, ...rest } = res.body as Record<string, unknown>;
      expect(challenge).toEqual(expect.any(String));
      expect(rest).not.toHaveProperty('allowCredentials');
      return { challenge, rest };
    };

    const known = await optionsFor({ email: user.email });
    const unknown = await optionsFor({ email: newRegistration().email });
    const none = await optionsFor({});
    expect(known.rest).toStrictEqual(unknown.rest);
    expect(known.rest).toStrictEqual(none.rest);
    expect(new Set([known.challenge, unknown.challenge, none.challenge]).size).toBe(3);
  });

  it('should then ask for the second factor after the password, and refuse a registration response replayed', async () => {
    const user = await signUp(t.http);
    const tokens = await logIn(t.http, user);
    const options = await t.http
      .post('/api/v1/auth/passkeys/registration/options')
      .set(bearer(tokens.access_token))
      .expect(200);
    const response = await create(options.body);
    await t.http
      .post('/api/v1/auth/passkeys/registration')
      .set(bearer(tokens.access_token))
      .send({ response })
      .expect(201);
    const login = await t.http.post('/api/v1/auth/login').send({ email: user.email, password: user.password });
    expectProblem(login, 403);
    expect(login.body).toMatchObject({ type: 'urn:problem:mfa-required', methods: ['passkey'] });
    // The password-only sign-in no longer passes step-up; one with the passkey does, and the
    // replayed registration (its challenge used) is refused.
    expectProblem(
      await t.http.post('/api/v1/auth/passkeys/registration').set(bearer(tokens.access_token)).send({ response }),
      401,
    );
    const withPasskey = (
      await t.http
        .post('/api/v1/auth/passkeys/authentication')
        .send({ response: await assertion() })
        .expect(200)
    ).body as TokenPair;
    expectProblem(
      await t.http.post('/api/v1/auth/passkeys/registration').set(bearer(withPasskey.access_token)).send({ response }),
      400,
    );
  });

  it('should keep several named passkeys per user and delete one', async () => {
    const user = await signUp(t.http);
    const first = await registerPasskey(await logIn(t.http, user), 'Laptop');
    const tokens = (
      await t.http
        .post('/api/v1/auth/passkeys/authentication')
        .send({ response: await assertion() })
        .expect(200)
    ).body as TokenPair;
    // A second virtual authenticator: one authenticator holds one credential per RP and user.
    const devtools = await context.newCDPSession(page);
    await devtools.send('WebAuthn.enable');
    await devtools.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    await registerPasskey(tokens, 'Security key');
    const listed = await t.http.get('/api/v1/auth/passkeys').set(bearer(tokens.access_token)).expect(200);
    expect((listed.body.data as { name: string }[]).map((p) => p.name).sort()).toEqual(['Laptop', 'Security key']);
    await t.http.delete(`/api/v1/auth/passkeys/${first.id}`).set(bearer(tokens.access_token)).expect(204);
    const after = await t.http.get('/api/v1/auth/passkeys').set(bearer(tokens.access_token)).expect(200);
    expect((after.body.data as { name: string }[]).map((p) => p.name)).toEqual(['Security key']);
  });

  // docs/auth-flows.md (Passkeys): "The signature counter only moves forward". A copy of the
  // key made before the original's last use signs with a counter not above the one stored.
  it('should refuse a cloned authenticator whose signature counter does not move forward, on a fresh challenge', async () => {
    const user = await signUp(t.http);
    const passkey = await registerPasskey(await logIn(t.http, user));
    const copied = await heldCredential(authenticatorId);
    await t.http
      .post('/api/v1/auth/passkeys/authentication')
      .send({ response: await assertion() })
      .expect(200);
    const afterOriginal = await stored(passkey.id);
    expect(Number(afterOriginal.counter)).toBeGreaterThan(copied.signCount);

    await devtools.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    const clone = await devtools.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
    await devtools.send('WebAuthn.addCredential', { authenticatorId: clone.authenticatorId, credential: copied });
    const cloned = await assertion();
    expect(signedData(cloned).counter).toBeLessThanOrEqual(Number(afterOriginal.counter));

    await expectRefused(cloned);
    expect(await stored(passkey.id)).toEqual(afterOriginal);
  });

  // docs/auth-flows.md (Passkeys): "User verification is required, so a passkey is a sign-in by
  // itself". A client may ask the authenticator for presence only; the server must not settle for it.
  it('should refuse an assertion made without user verification, though the client asked for none', async () => {
    const user = await signUp(t.http);
    const passkey = await registerPasskey(await logIn(t.http, user));
    await devtools.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    const options = await t.http.post('/api/v1/auth/passkeys/authentication/options').send({}).expect(200);
    const unverified = await get({ ...(options.body as object), userVerification: 'discouraged' });
    expect(signedData(unverified).userVerified).toBe(false);

    await expectRefused(unverified);
    expect((await stored(passkey.id)).lastUsedAt).toBeNull();
    await devtools.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
    await t.http
      .post('/api/v1/auth/passkeys/authentication')
      .send({ response: await assertion() })
      .expect(200);
  });

  // docs/auth-flows.md (Passkeys): "a credential whose backup eligibility changes is refused"
  // (BE is fixed at creation: another value means another authenticator holds the key).
  it.each([
    ['device-bound', false],
    ['synced', true],
  ] as const)('should refuse a %s passkey whose backup eligibility changes', async (_registered, eligible) => {
    await devtools.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    ({ authenticatorId } = await devtools.send('WebAuthn.addVirtualAuthenticator', {
      options: { ...AUTHENTICATOR, defaultBackupEligibility: eligible, defaultBackupState: eligible },
    }));
    const user = await signUp(t.http);
    const passkey = await registerPasskey(await logIn(t.http, user));
    const { credentialId } = await heldCredential(authenticatorId);
    const setEligibility = (backupEligibility: boolean) =>
      devtools.send('WebAuthn.setCredentialProperties', {
        authenticatorId,
        credentialId,
        backupEligibility,
        backupState: backupEligibility,
      });

    await setEligibility(!eligible);
    const changed = await assertion();
    expect(signedData(changed).backupEligible).toBe(!eligible);
    await expectRefused(changed);
    expect((await stored(passkey.id)).lastUsedAt).toBeNull();
    // The same key with the eligibility it was registered with (and a counter still ahead) passes.
    await setEligibility(eligible);
    await t.http
      .post('/api/v1/auth/passkeys/authentication')
      .send({ response: await assertion() })
      .expect(200);
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn, type SignedUpUser, type TokenPair } from '../factories/auth.js';
import { FormBrowser } from '../factories/oauth.js';
import {
  authorizationUrl,
  insecure,
  pkce,
  registerClient,
  signInAndAllow,
  startOAuthServer,
  type OAuthServer,
} from '../factories/oauth-server.js';
import { storedPasskey } from '../factories/passkey.js';
import { startSession } from '../factories/session.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

const REDIRECT_URI = 'https://client.example.test/callback';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KINDS = ['session', 'refresh-family', 'personal-token', 'api-key', 'oauth-grant', 'passkey'] as const;
type Kind = (typeof KINDS)[number];

/** One credential of the owner: its id in their inventory, and a check that it still works. */
interface Held {
  id: string;
  works: () => Promise<void>;
}

/** An id of the same shape as `id` that exists nowhere (grant ids are not UUIDs). */
const nowhereLike = (id: string) =>
  UUID.test(id) ? randomUUID() : randomBytes(48).toString('base64url').slice(0, id.length);

/** A 404 as the client sees it, without what names the request (its path, its id). */
function notFound(res: Response): Record<string, unknown> {
  expectProblem(res, 404);
  const { instance: _instance, requestId: _requestId, ...rest } = JSON.parse(res.text) as Record<string, unknown>;
  return rest;
}

/**
 * docs/threat-model.md (API1): "what you may not see is a 404, like what does not exist";
 * docs/auth-flows.md: `DELETE /credentials/:id` ends one of the caller's own credentials, and
 * `GET`/`DELETE /api/v1/users/:id/credentials` are for holders of `users:manage`. The owner
 * holds one credential of every kind; another user, just signed in (so step-up is no excuse),
 * tries to end each by its id. Each attempt must read exactly like an id that exists nowhere,
 * and each credential must go on working.
 */
describe('credential ownership: another user’s credentials through the inventory', () => {
  let server: OAuthServer;
  let owner: SignedUpUser;
  /** The owner's password sign-in; replaced as its refresh token rotates. */
  let ownerTokens: TokenPair;
  /** A plain user, signed in a moment ago. */
  let attacker: TokenPair;
  const held = new Map<Kind, Held>();
  const http = () => server.t.http;

  /** The owner's inventory as an administrator sees it: it does not depend on any of the owner's credentials. */
  async function ownersInventory(): Promise<string[]> {
    const res = await http().get(`/api/v1/users/${owner.id}/credentials`).set(bearer(server.adminToken));
    expect(res.status).toBe(200);
    return (res.body.data as { id: string }[]).map((c) => c.id);
  }

  async function expectOwner(headers: Record<string, string>): Promise<void> {
    const res = await http().get('/api/v1/auth/me').set(headers);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(owner.id);
  }

  /** An OAuth code-flow grant of the owner to a confirmed client; how to use its tokens. */
  async function oauthGrant(): Promise<() => Promise<void>> {
    const { as } = server;
    const registered = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['resources:read'],
      public: false,
    });
    const client = { client_id: registered.clientId };
    const clientAuth = oauth.ClientSecretBasic(registered.clientSecret as string);
    const { verifier, challenge } = await pkce();
    const url = authorizationUrl(as, {
      clientId: client.client_id,
      redirectUri: REDIRECT_URI,
      scope: 'resources:read',
      state: 's',
      challenge,
    });
    const callback = await signInAndAllow(new FormBrowser(server.origin), url, owner);
    const params = oauth.validateAuthResponse(as, client, callback, 's');
    let tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, insecure),
    );
    expect(tokens.refresh_token).toBeTruthy();
    return async () => {
      await expectOwner(bearer(tokens.access_token));
      const refreshed = await oauth.refreshTokenGrantRequest(
        as,
        client,
        clientAuth,
        tokens.refresh_token as string,
        insecure,
      );
      const next = await oauth.processRefreshTokenResponse(as, client, refreshed);
      tokens = { ...next, refresh_token: next.refresh_token ?? tokens.refresh_token };
    };
  }

  /** A passkey of the owner, its row stored as a registration stores it; signing in with it proves it works. */
  async function passkey(): Promise<{ id: string; works: () => Promise<void> }> {
    const { authenticator, id } = await storedPasskey(server.t.app, owner.id);
    const works = async () => {
      const options = await http().post('/api/v1/auth/passkeys/authentication/options').send({}).expect(200);
      const response = authenticator.assert(options.body as { challenge: string; rpId?: string }, server.origin);
      const signedInWith = await http().post('/api/v1/auth/passkeys/authentication').send({ response });
      expect(signedInWith.status).toBe(200);
      expect(decodeJwt((signedInWith.body as TokenPair).access_token).sub).toBe(owner.id);
    };
    return { id, works };
  }

  beforeAll(async () => {
    server = await startOAuthServer();
    const { t } = server;
    ({ user: owner, tokens: ownerTokens } = await signedIn(t.http));
    const session = await startSession(t.http, owner);
    const token = await t.http.post('/api/v1/auth/tokens').set(bearer(ownerTokens)).send({ name: 'laptop' });
    expect(token.status).toBe(201);
    const key = await t.http
      .post('/api/v1/api-keys')
      .set(bearer(ownerTokens))
      .send({ name: 'ci', scopes: ['resources:read'] });
    expect(key.status).toBe(201);
    const grantWorks = await oauthGrant();
    // Last: the owner signs in with a password above, and a passkey is a second factor.
    const ownersPasskey = await passkey();

    // The ids, as the owner's own inventory lists them.
    const listed = await t.http.get('/api/v1/auth/credentials').set(bearer(ownerTokens)).expect(200);
    const inventory = listed.body.data as { id: string; kind: Kind }[];
    expect(inventory.map((c) => c.kind).sort()).toEqual([...KINDS].sort());
    const idOf = (kind: Kind) => inventory.find((c) => c.kind === kind)?.id as string;
    expect(idOf('personal-token')).toBe(token.body.id);
    expect(idOf('api-key')).toBe(key.body.id);
    expect(idOf('passkey')).toBe(ownersPasskey.id);

    held.set('session', { id: idOf('session'), works: () => expectOwner({ Cookie: session.cookie }) });
    held.set('refresh-family', {
      id: idOf('refresh-family'),
      works: async () => {
        await expectOwner(bearer(ownerTokens));
        const res = await http().post('/api/v1/auth/refresh').send({ refresh_token: ownerTokens.refresh_token });
        expect(res.status).toBe(200);
        ownerTokens = res.body as TokenPair;
      },
    });
    held.set('personal-token', {
      id: idOf('personal-token'),
      works: () => expectOwner({ Authorization: `Token ${token.body.token as string}` }),
    });
    held.set('api-key', { id: idOf('api-key'), works: () => expectOwner({ 'X-API-Key': key.body.key as string }) });
    held.set('oauth-grant', { id: idOf('oauth-grant'), works: grantWorks });
    held.set('passkey', ownersPasskey);
    for (const credential of held.values()) await credential.works();

    ({ tokens: attacker } = await signedIn(t.http));
  });
  afterAll(() => server?.t.close());

  const heldOf = (kind: Kind) => held.get(kind) as Held;

  describe('DELETE /api/v1/auth/credentials/:id', () => {
    it.each(KINDS)(
      'should answer another user’s %s exactly as an id that exists nowhere (404), and leave it working',
      async (kind) => {
        const credential = heldOf(kind);
        const end = (id: string) => http().delete(`/api/v1/auth/credentials/${id}`).set(bearer(attacker));
        const refused = await end(credential.id);
        const missing = await end(nowhereLike(credential.id));
        expect(notFound(refused)).toEqual(notFound(missing));
        expect(await ownersInventory()).toContain(credential.id);
        await credential.works();
      },
    );
  });

  describe('DELETE /api/v1/auth/passkeys/:id', () => {
    it('should answer another user’s passkey on its own route exactly as an id that exists nowhere (404), and leave it working', async () => {
      const credential = heldOf('passkey');
      const end = (id: string) => http().delete(`/api/v1/auth/passkeys/${id}`).set(bearer(attacker));
      expect(notFound(await end(credential.id))).toEqual(notFound(await end(randomUUID())));
      expect(await ownersInventory()).toContain(credential.id);
      await credential.works();
    });
  });

  describe('/api/v1/users/:id/credentials without users:manage', () => {
    it('should refuse a plain user listing or ending another user’s credentials with 403, and end none of them', async () => {
      const path = `/api/v1/users/${owner.id}/credentials`;
      for (const res of [
        await http().get(path).set(bearer(attacker)),
        await http().delete(path).set(bearer(attacker)),
      ]) {
        expectProblem(res, 403);
        expect(res.body.type).toBe('urn:problem:forbidden');
        for (const { id } of held.values()) expect(res.text).not.toContain(id);
      }
      expect(await ownersInventory()).toEqual(expect.arrayContaining([...held.values()].map((c) => c.id)));
      for (const credential of held.values()) await credential.works();
    });
  });
});

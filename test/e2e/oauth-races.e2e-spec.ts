import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUp } from '../factories/auth.js';
import { FormBrowser } from '../factories/oauth.js';
import {
  authorizationUrl,
  pkce,
  registerClient,
  signInAndAllow,
  startOAuthServer,
  type OAuthServer,
  type RegisteredClient,
} from '../factories/oauth-server.js';
import { describeWithSharedServices, TestDatabase } from '../setup/test-app.js';
import { LOCAL_POSTGRES } from '../setup/services.js';

const REDIRECT_URI = 'https://client.example.test/callback';
/** Concurrent redemptions per round; before the compare-and-set, several of them got tokens. */
const RACERS = 8;
/** Rounds per test, each with a fresh code or token, so that a race lost by luck still shows. */
const ROUNDS = 4;

interface TokenAnswer {
  status: number;
  body: { access_token?: string; refresh_token?: string; error?: string };
}

/**
 * Redeeming one authorization code or one refresh token from many connections at once, on
 * a real Postgres (the embedded database serializes connections and would hide the race):
 * exactly one redemption wins, and the others count as reuse, which revokes the grant.
 */
describeWithSharedServices('OAuth redemption races', () => {
  let database: TestDatabase;
  let server: OAuthServer;
  let client: RegisteredClient;

  beforeAll(async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    server = await startOAuthServer({}, { database });
    client = await registerClient(server, {
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['resources:read'],
      public: false,
    });
  });
  afterAll(async () => {
    await server?.t.close();
    await database?.release();
  });

  async function token(
    form: Record<string, string>,
    headers: Record<string, string> = {},
    via: RegisteredClient = client,
  ): Promise<TokenAnswer> {
    const credentials = Buffer.from(`${via.clientId}:${via.clientSecret as string}`).toString('base64');
    const res = await fetch(server.as.token_endpoint as string, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${credentials}`,
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as TokenAnswer['body'] };
  }

  /** A fresh code for a fresh user, and the verifier that redeems it. */
  async function freshCode(): Promise<Record<string, string>> {
    const { verifier, challenge } = await pkce();
    const url = authorizationUrl(server.as, {
      clientId: client.clientId,
      redirectUri: REDIRECT_URI,
      scope: 'resources:read',
      state: oauth.generateRandomState(),
      challenge,
    });
    const callback = await signInAndAllow(new FormBrowser(server.origin), url, await signUp(server.t.http));
    return {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') as string,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };
  }

  const race = (form: Record<string, string>) => Promise.all(Array.from({ length: RACERS }, () => token(form)));
  const api = (accessToken: string) =>
    server.t.http.get('/api/v1/resources').set({ Authorization: `Bearer ${accessToken}` });

  it('should give tokens to exactly one of eight concurrent redemptions of a code, and revoke them', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await race(await freshCode());
      const winners = answers.filter((answer) => answer.status === 200);
      expect(winners).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.status !== 200)) {
        expect(loser).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      }
      // The other redemptions were reuse of the code: the grant, and the winner's tokens, are gone.
      const [winner] = winners;
      expect((await api(winner?.body.access_token as string)).status).toBe(401);
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: winner?.body.refresh_token as string,
      });
      expect(refreshed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }
  });

  it('should rotate a refresh token exactly once for eight concurrent refreshes, and revoke the grant', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const issued = await token(await freshCode());
      expect(issued.status).toBe(200);
      const answers = await race({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string });
      const winners = answers.filter((answer) => answer.status === 200);
      expect(winners).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.status !== 200)) {
        expect(loser).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      }
      const [winner] = winners;
      expect((await api(winner?.body.access_token as string)).status).toBe(401);
      const next = await token({ grant_type: 'refresh_token', refresh_token: winner?.body.refresh_token as string });
      expect(next).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }
  });

  it('should bind a token to a DPoP proof sent eight times at once only once', async () => {
    const service = await registerClient(server, {
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scopes: ['resources:read'],
      public: false,
    });
    for (let round = 0; round < ROUNDS; round++) {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const proof = await new SignJWT({ htm: 'POST', htu: server.as.token_endpoint as string, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
        .setIssuedAt()
        .sign(privateKey);
      const answers = await Promise.all(
        Array.from({ length: RACERS }, () =>
          token({ grant_type: 'client_credentials', scope: 'resources:read' }, { dpop: proof }, service),
        ),
      );
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      for (const loser of answers.filter((answer) => answer.status !== 200)) {
        // invalid_grant when the provider saw the proof recorded already, invalid_dpop_proof when the insert lost.
        expect(loser.status).toBe(400);
        expect(['invalid_grant', 'invalid_dpop_proof']).toContain(loser.body.error);
      }
    }
  });
});

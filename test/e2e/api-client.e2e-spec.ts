import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../../generated/api-client/client/index.js';
import {
  createResource,
  createTokens,
  getCurrentUser,
  getResource,
  listResources,
  registerAccount,
  updateResource,
  type ProblemDetails,
} from '../../generated/api-client/index.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

/**
 * A client generated from the committed openapi.json (@hey-api/openapi-ts, `npm run
 * openapi:client`) drives the real server over HTTP, as a consumer would: if the server
 * stops doing what the contract says (a renamed operation or field, another status, an
 * error that is not problem+json), this fails.
 */
describe('the generated API client', () => {
  let t: TestApp;
  let anonymous: Client;
  let signedIn: Client;
  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const baseUrl = `http://127.0.0.1:${port}`;
    anonymous = createClient({ baseUrl });
    const registration = newRegistration();
    const registered = await registerAccount({ client: anonymous, body: registration, throwOnError: true });
    // EMAIL_VERIFICATION=none in tests: the 201 with the user, not the 202 of a mailed proof.
    expect('email' in registered.data && registered.data.email).toBe(registration.email);
    const { data: tokens } = await createTokens({
      client: anonymous,
      body: { email: registration.email, password: registration.password },
      throwOnError: true,
    });
    expect(tokens.token_type).toBe('Bearer');
    // The client asks for each scheme an operation accepts; one credential per request, so only the bearer.
    signedIn = createClient({
      baseUrl,
      auth: (scheme) => (scheme.scheme === 'bearer' ? tokens.access_token : undefined),
    });
  });
  afterAll(() => t?.close());

  it('should create, read, list and update a resource through the typed operations', async () => {
    const me = await getCurrentUser({ client: signedIn, throwOnError: true });
    const created = await createResource({
      client: signedIn,
      body: { name: 'Contract', visibility: 'private' },
      throwOnError: true,
    });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ name: 'Contract', ownerId: me.data.id, version: 1 });
    expect(created.response.headers.get('Location')).toBe(`/api/v1/resources/${created.data.id}`);

    const read = await getResource({ client: signedIn, path: { id: created.data.id }, throwOnError: true });
    expect(read.response.headers.get('ETag')).toBe('"1"');
    expect(read.response.headers.get('RateLimit-Limit')).toMatch(/^\d+$/);

    const page = await listResources({ client: signedIn, throwOnError: true });
    expect(page.data.data.map((resource) => resource.id)).toContain(created.data.id);

    const updated = await updateResource({
      client: signedIn,
      path: { id: created.data.id },
      body: { name: 'Contract v2' },
      headers: { 'If-Match': '"1"' },
      throwOnError: true,
    });
    expect(updated.data).toMatchObject({ name: 'Contract v2', version: 2 });
  });

  it('should receive the documented problem+json for an invalid body, a stale If-Match and no credential', async () => {
    const invalid = await createResource({
      client: signedIn,
      body: { name: '', visibility: 'private' },
    });
    expect(invalid.response?.status).toBe(400);
    expect(invalid.response?.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = invalid.error as ProblemDetails;
    expect(problem).toMatchObject({ type: 'urn:problem:validation-failed', status: 400 });
    expect(problem.errors?.map((error) => error.field)).toContain('name');

    const { data: resource } = await createResource({
      client: signedIn,
      body: { name: 'Stale', visibility: 'private' },
      throwOnError: true,
    });
    const stale = await updateResource({
      client: signedIn,
      path: { id: resource.id },
      body: { name: 'Late' },
      headers: { 'If-Match': '"7"' },
    });
    expect(stale.response?.status).toBe(412);
    expect((stale.error as ProblemDetails).status).toBe(412);

    const refused = await createResource({ client: anonymous, body: { name: 'Nobody', visibility: 'public' } });
    expect(refused.response?.status).toBe(401);
    expect((refused.error as ProblemDetails).type).toMatch(/^urn:problem:/);
  });
});

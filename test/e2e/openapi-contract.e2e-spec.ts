import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brunoCollection } from '../../scripts/bruno-collection.mjs';
import { startTestApp, type TestApp } from '../setup/test-app.js';

interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { flows?: Record<string, { scopes: Record<string, string> }> }> };
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch']);

function operationsOf(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
  );
}

/**
 * The committed openapi.json is the API's contract: this test fails when the running app
 * describes anything else, so a change to the surface arrives as a reviewed diff of that
 * file. `npm run openapi` rewrites it and the Bruno collection made from it; the typed client
 * is generated from it before every e2e run.
 */
describe('the OpenAPI contract', () => {
  let t: TestApp;
  let document: Document;
  beforeAll(async () => {
    t = await startTestApp();
    document = (await t.http.get('/docs/openapi.json').expect(200)).body as Document;
  });
  afterAll(() => t?.close());

  it('should match the committed openapi.json (npm run openapi rewrites it)', async () => {
    await expect(`${JSON.stringify(document, null, 2)}\n`).toMatchFileSnapshot('../../openapi.json');
  });

  // From the app's document, which the test above holds to the committed one: one run of
  // `npm run openapi` rewrites both files.
  it('should ship the example Bruno collection made from the contract', async () => {
    await expect(`${JSON.stringify(brunoCollection(document), null, 2)}\n`).toMatchFileSnapshot(
      '../../collections/bruno.json',
    );
  });

  it('should give every operation a summary and a unique verb-noun operationId', () => {
    const ids = operationsOf(document).map(([route, operation]) => {
      expect(operation.summary, route).toMatch(/\S/);
      expect(operation.operationId, route).toMatch(/^[a-z]+[A-Z][A-Za-z]*$/);
      return operation.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('should describe every error as problem+json, document 400 everywhere, and give every header a schema', () => {
    for (const [route, operation] of operationsOf(document)) {
      expect(Object.keys(operation.responses), route).toContain('400');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === 'default' || Number(status) >= 400) {
          expect(Object.keys(response.content ?? {}), `${route} ${status}`).toEqual(['application/problem+json']);
        }
        for (const [name, header] of Object.entries(response.headers ?? {})) {
          expect(header.schema, `${route} ${status} ${name}`).toBeDefined();
        }
      }
    }
  });

  it('should declare every permission as an OAuth scope and require the route’s own on protected operations', () => {
    const { flows } = document.components.securitySchemes.oauth2 ?? {};
    expect(Object.keys(flows ?? {}).sort()).toEqual(['authorizationCode', 'clientCredentials']);
    expect(Object.keys(flows?.authorizationCode?.scopes ?? {})).toContain('resources:write');
    const create = document.paths['/api/v1/resources']?.post;
    expect(create?.security).toContainEqual({ oauth2: ['resources:write'] });
    expect(create?.security).toContainEqual({ apiKey: [] });
  });
});

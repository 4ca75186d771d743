import { defineConfig } from '@hey-api/openapi-ts';

/**
 * The typed client made from the committed openapi.json (`npm run openapi:client`; the e2e
 * global setup and `npm run typecheck` run it too). Generated, never committed: it is
 * always exactly what the contract says, and test/e2e/api-client.e2e-spec.ts drives the
 * server with it, so a contract the server breaks fails that test.
 */
export default defineConfig({
  input: 'openapi.json',
  output: { path: 'generated/api-client' },
  plugins: ['@hey-api/client-fetch'],
  logs: { file: false },
});

import { createClient } from '@hey-api/openapi-ts';
import config from '../../openapi-ts.config.js';

/**
 * Generates the typed client (generated/api-client, git-ignored) from the committed
 * openapi.json before the e2e files run, so test/e2e/api-client.e2e-spec.ts always drives
 * the server with exactly what the contract describes.
 */
export default async function setup(): Promise<void> {
  const options = await config;
  if (Array.isArray(options)) throw new Error('openapi-ts.config.ts: one configuration expected');
  await createClient({ ...options, logs: { file: false, level: 'silent' } });
}

import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** The key bytes of a Standard Webhooks secret: base64 after `whsec_`. */
export function webhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/**
 * The `webhook-signature` header of the Standard Webhooks specification
 * (https://www.standardwebhooks.com): `v1,` and the base64 HMAC-SHA256, keyed with the
 * secret, of `<webhook-id>.<webhook-timestamp>.<body>`. One HMAC from node:crypto; the
 * `standardwebhooks` package would add a pure-JS SHA-256 for the same line. The tests
 * verify every delivery with that package.
 */
export function webhookSignature(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { webhookKey, webhookSignature } from './webhook-signature.js';

describe(webhookSignature.name, () => {
  it('should be what the standardwebhooks reference implementation verifies, for any id and body', () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const verifier = new Webhook(secret);
    fc.assert(
      fc.property(fc.stringMatching(/^msg_[A-Za-z0-9]{1,40}$/), fc.json(), (id, body) => {
        const timestamp = Math.floor(Date.now() / 1000);
        const headers = {
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': webhookSignature(webhookKey(secret), id, timestamp, body),
        };
        expect(verifier.verify(body, headers)).toEqual(JSON.parse(body));
      }),
      { numRuns: 200 },
    );
  });

  it('should not verify under another secret, or for another body', () => {
    const key = webhookKey(`whsec_${randomBytes(32).toString('base64')}`);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(key, 'msg_1', timestamp, '{"a":1}'),
    };
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify('{"a":1}', headers)).toThrow();
    expect(() => new Webhook(`whsec_${key.toString('base64')}`).verify('{"a":2}', headers)).toThrow();
  });
});

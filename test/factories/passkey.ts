import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { PasskeysRepository } from '../../src/modules/auth/mfa/passkeys.repository.js';

/**
 * A passkey without a browser: an ES256 key pair whose public half is stored as the server
 * stores a registered one, and whose private half signs assertions as a user-verifying
 * authenticator does (flags UP and UV, counter 0, not backup eligible: `singleDevice`).
 * For tests that need a passkey to exist and work, not a registration ceremony (that one
 * runs in Chromium: passkeys-browser.e2e-spec.ts).
 */
export interface SoftwarePasskey {
  /** The authenticator's credential id, base64url. */
  credentialId: string;
  /** The COSE public key, as the passkeys table holds it. */
  publicKey: Buffer;
  /** An assertion for the server's request options, as a browser on `origin` would send it. */
  assert(options: { challenge: string; rpId?: string }, origin: string): AuthenticationResponseJSON;
}

const USER_PRESENT_AND_VERIFIED = 0x01 | 0x04;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

export function softwarePasskey(): SoftwarePasskey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const coordinate = (value: string | undefined) => new Uint8Array(Buffer.from(value ?? '', 'base64url'));
  // COSE_Key: kty EC2, alg ES256, crv P-256, x, y.
  const cose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, coordinate(jwk.x)],
      [-3, coordinate(jwk.y)],
    ]),
  );
  const credentialId = randomBytes(16).toString('base64url');
  return {
    credentialId,
    publicKey: Buffer.from(cose),
    assert({ challenge, rpId }, origin) {
      const rpIdHash = sha256(rpId ?? new URL(origin).hostname);
      const authenticatorData = Buffer.concat([rpIdHash, Buffer.from([USER_PRESENT_AND_VERIFIED]), Buffer.alloc(4)]);
      const clientDataJSON = Buffer.from(
        JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }),
      );
      const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), privateKey);
      return {
        id: credentialId,
        rawId: credentialId,
        type: 'public-key',
        response: {
          clientDataJSON: clientDataJSON.toString('base64url'),
          authenticatorData: authenticatorData.toString('base64url'),
          signature: signature.toString('base64url'),
        },
        clientExtensionResults: {},
      };
    },
  };
}

/** A software passkey of the user, its row stored as a registration stores it (no ceremony). */
export async function storedPasskey(
  app: { get<T>(type: new (...args: never[]) => T): T },
  userId: string,
): Promise<{ authenticator: SoftwarePasskey; id: string }> {
  const authenticator = softwarePasskey();
  const row = await app.get(PasskeysRepository).insert({
    userId,
    credentialId: authenticator.credentialId,
    publicKey: authenticator.publicKey,
    counter: '0',
    transports: ['internal'],
    deviceType: 'singleDevice',
    backedUp: false,
    name: 'Laptop',
    createdIp: null,
    createdUserAgent: null,
  });
  return { authenticator, id: row.id };
}

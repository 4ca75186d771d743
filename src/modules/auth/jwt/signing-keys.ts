import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** ES256: asymmetric, supported by jose, jsonwebtoken (passport-jwt) and oidc-provider alike. */
export const JWT_ALGORITHM = 'ES256';

/** A private signing key as stored: a JWK with its kid, and when it stopped signing. */
export interface StoredKey extends JWK {
  kid: string;
  /** Epoch seconds when a newer key took over; absent on the key that signs. */
  retired_at?: number;
}

export interface KeySetFile {
  keys: StoredKey[];
}

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  retiredAt: number | undefined;
}

export async function generateStoredKey(): Promise<StoredKey> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
  return { ...jwk, kid, alg: JWT_ALGORITHM, use: 'sig' };
}

export function toSigningKey(stored: StoredKey): SigningKey {
  const privateKey = createPrivateKey({ key: stored as unknown as JsonWebKey, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as JWK;
  return {
    kid: stored.kid,
    privateKey,
    publicKey,
    publicJwk: { kty, crv, x, y, kid: stored.kid, alg: JWT_ALGORITHM, use: 'sig' },
    retiredAt: stored.retired_at,
  };
}

export function parseKeySet(json: string, source: string): KeySetFile {
  const parsed = JSON.parse(json) as Partial<KeySetFile>;
  if (!Array.isArray(parsed.keys) || parsed.keys.length === 0 || parsed.keys.some((k) => !k.kid || !k.d)) {
    throw new Error(`${source}: expected {"keys":[...]} of private JWKs, each with a kid`);
  }
  return parsed as KeySetFile;
}

export function readKeySetFile(path: string): KeySetFile | undefined {
  return existsSync(path) ? parseKeySet(readFileSync(path, 'utf8'), path) : undefined;
}

/** Writes atomically and readable by the owner only: these are private keys. */
export function writeKeySetFile(path: string, keySet: KeySetFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(keySet, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}

/**
 * Rotation: a new key signs from now on; the old ones stay to verify the tokens they
 * signed until those expire (`keepRetiredSeconds`), then drop out.
 */
export async function rotateKeySet(
  current: KeySetFile,
  keepRetiredSeconds: number,
  nowSeconds: number,
): Promise<KeySetFile> {
  const fresh = await generateStoredKey();
  const older = current.keys
    .map((key) => (key.retired_at === undefined ? { ...key, retired_at: nowSeconds } : key))
    .filter((key) => (key.retired_at ?? nowSeconds) + keepRetiredSeconds > nowSeconds);
  return { keys: [fresh, ...older] };
}

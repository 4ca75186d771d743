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
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  retiredAt: number | undefined;
}

/**
 * The algorithm of the OAuth server's ID tokens: RS256, which OpenID Connect requires every
 * provider to support (Discovery section 3) and every relying party can verify. ID tokens
 * are signed with it by default; our own access tokens never are.
 */
export const ID_TOKEN_ALGORITHM = 'RS256';

/** One signing key per algorithm is current: ES256 for access tokens, RS256 for ID tokens. */
export const KEY_ALGORITHMS = [JWT_ALGORITHM, ID_TOKEN_ALGORITHM] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** The public members of a JWK: what is published, and what its thumbprint (kid) covers. */
function publicMembers(jwk: JWK): JWK {
  return jwk.kty === 'RSA' ? { kty: jwk.kty, n: jwk.n, e: jwk.e } : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export async function generateStoredKey(alg: KeyAlgorithm = JWT_ALGORITHM): Promise<StoredKey> {
  const { privateKey } =
    alg === ID_TOKEN_ALGORITHM
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(publicMembers(jwk));
  return { ...jwk, kid, alg, use: 'sig' };
}

/** A new key set: a current key of every algorithm. */
export async function generateKeySet(): Promise<KeySetFile> {
  return { keys: await Promise.all(KEY_ALGORITHMS.map((alg) => generateStoredKey(alg))) };
}

/** Keys stored before RS256 was added carry no alg, and were all ES256. */
export function algorithmOf(key: StoredKey): string {
  return key.alg ?? JWT_ALGORITHM;
}

export function toSigningKey(stored: StoredKey): SigningKey {
  const privateKey = createPrivateKey({ key: stored as unknown as JsonWebKey, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const alg = algorithmOf(stored);
  return {
    kid: stored.kid,
    alg,
    privateKey,
    publicKey,
    publicJwk: { ...publicMembers(publicKey.export({ format: 'jwk' }) as JWK), kid: stored.kid, alg, use: 'sig' },
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
 * Rotation: a new key of every algorithm signs from now on; the old ones stay to verify the
 * tokens they signed until those expire (`keepRetiredSeconds`), then drop out.
 */
export async function rotateKeySet(
  current: KeySetFile,
  keepRetiredSeconds: number,
  nowSeconds: number,
): Promise<KeySetFile> {
  const fresh = await generateKeySet();
  const older = current.keys
    .map((key) => (key.retired_at === undefined ? { ...key, retired_at: nowSeconds } : key))
    .filter((key) => (key.retired_at ?? nowSeconds) + keepRetiredSeconds > nowSeconds);
  return { keys: [...fresh.keys, ...older] };
}

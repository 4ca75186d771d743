import type { KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';

/** The JWS type of a checkpoint: never an access token (those are at+jwt), never an ID token. */
export const CHECKPOINT_TYP = 'audit-checkpoint+jwt';

/** The head of the audit chain at one moment: its last event's position and hash. */
export interface ChainHead {
  /** bigint as text, as the driver returns it. */
  seq: string;
  hash: Buffer;
}

export interface Checkpoint extends ChainHead {
  /** When the head was signed. */
  at: Date;
  /** The compact JWS, as published to the log and the webhook. */
  jws: string;
}

export interface CheckpointSigner {
  kid: string;
  alg: string;
  privateKey: KeyObject;
}

/** Signs a chain head with the server's signing key: the anchor `audit:verify` checks the trail against. */
export async function signCheckpoint(
  head: ChainHead,
  key: CheckpointSigner,
  issuer: string,
  at: Date,
): Promise<Checkpoint> {
  const jws = await new SignJWT({ seq: head.seq, hash: head.hash.toString('hex'), at: at.toISOString() })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHECKPOINT_TYP })
    .setIssuer(issuer)
    .setIssuedAt(Math.floor(at.getTime() / 1000))
    .sign(key.privateKey);
  return { ...head, at, jws };
}

/** A public key of ours by kid, with the one algorithm it signs with. */
export type CheckpointKeys = (kid: string | undefined) => { publicKey: KeyObject; alg: string } | undefined;

export class CheckpointInvalidError extends Error {
  override name = 'CheckpointInvalidError';
}

/** Verifies a checkpoint's signature (one of our keys, by kid; its algorithm only) and reads it. */
export async function verifyCheckpoint(jws: string, keys: CheckpointKeys): Promise<Checkpoint> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(
      jws,
      (header: JWTHeaderParameters) => {
        const key = keys(header.kid);
        if (!key || key.alg !== header.alg) throw new CheckpointInvalidError('signed by a key that is not ours');
        return key.publicKey;
      },
      { typ: CHECKPOINT_TYP },
    ));
  } catch (error) {
    if (error instanceof CheckpointInvalidError) throw error;
    throw new CheckpointInvalidError(`signature does not verify (${(error as Error).name})`);
  }
  const { seq, hash, at } = payload;
  if (typeof seq !== 'string' || !/^\d+$/.test(seq) || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new CheckpointInvalidError('payload is not a chain head');
  }
  const signedAt = new Date(typeof at === 'string' ? at : Number.NaN);
  if (Number.isNaN(signedAt.getTime())) throw new CheckpointInvalidError('payload has no time');
  return { seq, hash: Buffer.from(hash, 'hex'), at: signedAt, jws };
}

/** The last compact JWS in a text: a file holding the JWS, a log line or a webhook body. */
export function findCheckpointJws(text: string): string | undefined {
  return text.match(/eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+/g)?.at(-1);
}

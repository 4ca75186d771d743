import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { JWK } from 'jose';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../../config/app-config.js';
import {
  algorithmOf,
  generateKeySet,
  generateStoredKey,
  ID_TOKEN_ALGORITHM,
  JWT_ALGORITHM,
  parseKeySet,
  readKeySetFile,
  toSigningKey,
  writeKeySetFile,
  type KeySetFile,
  type SigningKey,
} from './signing-keys.js';

/**
 * The key set: the newest ES256 key signs our access tokens, every ES256 key verifies them
 * (older ones until their tokens expire); the RS256 keys are the OAuth server's, for ID
 * tokens. The public halves of all are published as the JWKS. Keys come from JWT_KEYS or
 * JWT_KEYS_FILE; in development a missing file (or a missing RS256 key) is generated under
 * DATA_DIR.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit {
  private keys: SigningKey[] = [];

  constructor(
    private readonly config: AppConfig,
    @InjectPinoLogger(SigningKeysService.name) private readonly logger: PinoLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    const keySet = await this.load();
    this.keys = keySet.keys.map(toSigningKey);
  }

  /** The key that signs new access tokens: the newest ES256 one. */
  get current(): SigningKey {
    const key = this.keys.find((candidate) => candidate.alg === JWT_ALGORITHM);
    if (!key) throw new Error('No signing key loaded');
    return key;
  }

  /**
   * The access-token key with this kid, if it is one of ours: no other key (no jku, x5u, jwk
   * header) counts, and an ID token's RS256 key is not one that signs access tokens.
   */
  find(kid: unknown): SigningKey | undefined {
    if (typeof kid !== 'string') return undefined;
    const key = this.keys.find((candidate) => candidate.kid === kid && candidate.alg === JWT_ALGORITHM);
    return key && this.verifies(key) ? key : undefined;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.filter((key) => this.verifies(key)).map((key) => key.publicJwk) };
  }

  /**
   * A retired key verifies only while tokens it signed before retiring can be alive: after
   * that, a token bearing its kid was signed by whoever has the key now (a leaked key is the
   * reason to rotate), whether or not a later keys:rotate has dropped it from the file yet.
   */
  private verifies(key: SigningKey): boolean {
    return key.retiredAt === undefined || Date.now() / 1000 < key.retiredAt + this.config.auth.retiredKeyVerifySeconds;
  }

  /**
   * The private keys as JWKs, newest first, for the OAuth authorization server: it signs
   * with the same keys and publishes the same public set, so there is one key set to rotate.
   * It takes them at boot: a retired key past its time is left out then.
   */
  privateJwks(): JWK[] {
    return this.keys
      .filter((key) => this.verifies(key))
      .map((key) => ({
        ...(key.privateKey.export({ format: 'jwk' }) as JWK),
        kid: key.kid,
        alg: key.alg,
        use: 'sig',
      }));
  }

  private async load(): Promise<KeySetFile> {
    const { keysJson, keysFile, generateMissingSecrets } = this.config.auth;
    if (keysJson) return requireEveryAlgorithm(parseKeySet(keysJson, 'JWT_KEYS'), 'JWT_KEYS');
    const fromFile = keysFile ? readKeySetFile(keysFile) : undefined;
    if (fromFile && keysFile) {
      if (!generateMissingSecrets) return requireEveryAlgorithm(fromFile, keysFile);
      return this.completeDevelopmentKeySet(fromFile, keysFile);
    }
    if (!generateMissingSecrets) {
      throw new Error(
        `No JWT signing keys: ${keysFile ?? 'JWT_KEYS_FILE'} does not exist (npm run cli -- keys:rotate creates it)`,
      );
    }
    const generated = await generateKeySet();
    if (keysFile) {
      writeKeySetFile(keysFile, generated);
      this.logger.warn({ file: keysFile }, 'generated development signing keys');
    }
    return generated;
  }

  /** A development key file from before ID tokens were RS256 gets its RS256 key added. */
  private async completeDevelopmentKeySet(keySet: KeySetFile, file: string): Promise<KeySetFile> {
    if (keySet.keys.some((key) => algorithmOf(key) === ID_TOKEN_ALGORITHM)) return keySet;
    const completed = { keys: [...keySet.keys, await generateStoredKey(ID_TOKEN_ALGORITHM)] };
    writeKeySetFile(file, completed);
    this.logger.warn({ file }, 'added a development RS256 key for ID tokens');
    return completed;
  }
}

/** Every algorithm needs a current key; an operator's key set is never completed behind their back. */
function requireEveryAlgorithm(keySet: KeySetFile, source: string): KeySetFile {
  for (const alg of [JWT_ALGORITHM, ID_TOKEN_ALGORITHM]) {
    if (!keySet.keys.some((key) => algorithmOf(key) === alg && key.retired_at === undefined)) {
      throw new Error(
        `${source}: no current ${alg} key (${alg === ID_TOKEN_ALGORITHM ? 'ID tokens are signed RS256' : 'access tokens are signed ES256'}); npm run cli -- keys:rotate adds one of each`,
      );
    }
  }
  return keySet;
}

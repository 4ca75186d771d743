import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { JWK } from 'jose';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../../config/app-config.js';
import {
  generateStoredKey,
  JWT_ALGORITHM,
  parseKeySet,
  readKeySetFile,
  toSigningKey,
  writeKeySetFile,
  type KeySetFile,
  type SigningKey,
} from './signing-keys.js';

/**
 * The JWT key set: the newest key signs, every key verifies (older ones until their tokens
 * expire), and the public halves are published as the JWKS. Keys come from JWT_KEYS or
 * JWT_KEYS_FILE; in development a missing file is generated under DATA_DIR.
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

  /** The key that signs new tokens. */
  get current(): SigningKey {
    const key = this.keys[0];
    if (!key) throw new Error('No signing key loaded');
    return key;
  }

  /** The key with this kid, if it is one of ours: no other key (no jku, x5u, jwk header) counts. */
  find(kid: unknown): SigningKey | undefined {
    return typeof kid === 'string' ? this.keys.find((key) => key.kid === kid) : undefined;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  /**
   * The private keys as JWKs, newest first, for the OAuth authorization server: it signs
   * with the same keys and publishes the same public set, so there is one key set to rotate.
   */
  privateJwks(): JWK[] {
    return this.keys.map((key) => ({
      ...(key.privateKey.export({ format: 'jwk' }) as JWK),
      kid: key.kid,
      alg: JWT_ALGORITHM,
      use: 'sig',
    }));
  }

  private async load(): Promise<KeySetFile> {
    const { keysJson, keysFile, generateMissingSecrets } = this.config.auth;
    if (keysJson) return parseKeySet(keysJson, 'JWT_KEYS');
    const fromFile = keysFile ? readKeySetFile(keysFile) : undefined;
    if (fromFile) return fromFile;
    if (!generateMissingSecrets) {
      throw new Error(
        `No JWT signing keys: ${keysFile ?? 'JWT_KEYS_FILE'} does not exist (npm run cli -- keys:rotate creates it)`,
      );
    }
    const generated: KeySetFile = { keys: [await generateStoredKey()] };
    if (keysFile) {
      writeKeySetFile(keysFile, generated);
      this.logger.warn({ file: keysFile }, 'generated a development JWT signing key');
    }
    return generated;
  }
}

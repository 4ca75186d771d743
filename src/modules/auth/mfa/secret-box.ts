import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config.js';
import { developmentSecret } from '../../../config/dev-secrets.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals second-factor secrets at rest with AES-256-GCM under a key derived (HKDF-SHA256) from
 * MFA_ENCRYPTION_KEY, which lives in config, never in the database. The owner's id is the
 * associated data: a sealed secret copied onto another user's row does not open.
 * Layout: version (1 byte) | IV (12) | tag (16) | ciphertext.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    const configured = config.mfa.encryptionKey;
    if (!configured && !config.auth.generateMissingSecrets) {
      throw new Error('MFA_ENCRYPTION_KEY is required (it is generated only in development)');
    }
    const secret = configured ?? developmentSecret(config.app.dataDir, 'mfa-encryption-key');
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'nest-secure-api mfa secrets v1', 32));
  }

  seal(plaintext: Buffer, ownerId: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(ownerId));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Throws when the box was not sealed with this key for this owner (or was tampered with). */
  open(sealed: Buffer, ownerId: string): Buffer {
    if (sealed[0] !== VERSION) throw new Error('unknown sealed-secret version');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(ownerId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  }
}

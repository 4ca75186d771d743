import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Passkeys (WebAuthn credentials) and the server-side, single-use challenges of their ceremonies. */
export class Passkeys1765300000000 implements MigrationInterface {
  name = 'Passkeys1765300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE passkeys (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        credential_id varchar(1024) NOT NULL,
        public_key bytea NOT NULL,
        counter bigint NOT NULL,
        transports varchar(16)[] NOT NULL DEFAULT '{}',
        device_type varchar(16) NOT NULL,
        backed_up boolean NOT NULL,
        name varchar(100) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        created_ip varchar(64),
        created_user_agent varchar(256),
        CONSTRAINT passkeys_pkey PRIMARY KEY (id),
        CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id),
        CONSTRAINT passkeys_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX passkeys_user_id ON passkeys (user_id)`);
    await db.query(`
      CREATE TABLE webauthn_challenges (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        challenge varchar(128) NOT NULL,
        purpose varchar(16) NOT NULL,
        user_id uuid,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT webauthn_challenges_pkey PRIMARY KEY (id),
        CONSTRAINT webauthn_challenges_challenge_key UNIQUE (challenge),
        CONSTRAINT webauthn_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webauthn_challenges`);
    await db.query(`DROP TABLE passkeys`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Multi-factor authentication: a TOTP factor per user (its secret sealed with
 * MFA_ENCRYPTION_KEY, never in the clear), hashed single-use recovery codes, the pending
 * second steps of sign-ins (mfaToken), and how each sign-in was made (`auth_time`, `amr`)
 * on the credentials it handed out, so refreshes and sessions keep it for step-up checks.
 */
export class Mfa1765200000000 implements MigrationInterface {
  name = 'Mfa1765200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE mfa_totp_factors (
        user_id uuid NOT NULL,
        secret_sealed bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        confirmed_at timestamptz,
        last_used_step bigint,
        CONSTRAINT mfa_totp_factors_pkey PRIMARY KEY (user_id),
        CONSTRAINT mfa_totp_factors_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE mfa_recovery_codes (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        code_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz,
        CONSTRAINT mfa_recovery_codes_pkey PRIMARY KEY (id),
        CONSTRAINT mfa_recovery_codes_code_hash_key UNIQUE (user_id, code_hash),
        CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      )`);
    await db.query(`
      CREATE TABLE mfa_challenges (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        token_hash bytea NOT NULL,
        user_id uuid NOT NULL,
        purpose varchar(16) NOT NULL,
        credentials_epoch integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT mfa_challenges_pkey PRIMARY KEY (id),
        CONSTRAINT mfa_challenges_token_hash_key UNIQUE (token_hash),
        CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at)`);
    for (const table of ['sessions', 'refresh_tokens']) {
      await db.query(
        `ALTER TABLE ${table} ADD COLUMN auth_time timestamptz NOT NULL DEFAULT now(), ADD COLUMN amr varchar(16)[] NOT NULL DEFAULT '{pwd}'`,
      );
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['sessions', 'refresh_tokens']) {
      await db.query(`ALTER TABLE ${table} DROP COLUMN auth_time, DROP COLUMN amr`);
    }
    await db.query(`DROP TABLE mfa_challenges`);
    await db.query(`DROP TABLE mfa_recovery_codes`);
    await db.query(`DROP TABLE mfa_totp_factors`);
  }
}

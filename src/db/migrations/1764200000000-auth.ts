import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Auth1764200000000 implements MigrationInterface {
  name = 'Auth1764200000000';

  async up(db: QueryRunner): Promise<void> {
    // Per user, JWTs issued before this instant are dead (password change, deactivation, role
    // change, deletion). No foreign key: the cutoff must outlive a deleted user's row.
    await db.query(`
      CREATE TABLE token_cutoffs (
        user_id uuid PRIMARY KEY,
        tokens_valid_after timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE revoked_access_tokens (
        jti uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at)`);
    await db.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        family_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        revoked_at timestamptz,
        access_jti uuid,
        access_expires_at timestamptz,
        CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
      )`);
    await db.query(`CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id)`);
    await db.query(`CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id)`);
    await db.query(`
      CREATE TABLE personal_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        last_used_at timestamptz,
        CONSTRAINT personal_tokens_token_hash_key UNIQUE (token_hash)
      )`);
    await db.query(`CREATE INDEX personal_tokens_user_id ON personal_tokens (user_id)`);
    await db.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        sid_hash bytea NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        CONSTRAINT sessions_sid_hash_key UNIQUE (sid_hash)
      )`);
    await db.query(`CREATE INDEX sessions_user_id ON sessions (user_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE sessions`);
    await db.query(`DROP TABLE personal_tokens`);
    await db.query(`DROP TABLE refresh_tokens`);
    await db.query(`DROP TABLE revoked_access_tokens`);
    await db.query(`DROP TABLE token_cutoffs`);
  }
}

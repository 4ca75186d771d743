import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiKeys1764400000000 implements MigrationInterface {
  name = 'ApiKeys1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        name varchar(100) NOT NULL,
        prefix varchar(32) NOT NULL,
        secret_hash bytea NOT NULL,
        scopes text[] NOT NULL,
        rate_limit_per_minute integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        last_used_ip varchar(64),
        CONSTRAINT api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
        CONSTRAINT api_keys_rate_limit_positive CHECK (rate_limit_per_minute > 0)
      )`);
    await db.query(`CREATE INDEX api_keys_user_created ON api_keys (user_id, created_at, id)`);
    await db.query(`CREATE INDEX api_keys_created ON api_keys (created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_keys`);
  }
}

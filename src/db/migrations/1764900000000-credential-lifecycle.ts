import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The credential inventory and durable revocation: where each credential was created from
 * and by which credential, and a log of every revocation that instances replay after a
 * missed broadcast.
 */
export class CredentialLifecycle1764900000000 implements MigrationInterface {
  name = 'CredentialLifecycle1764900000000';

  async up(db: QueryRunner): Promise<void> {
    for (const table of ['sessions', 'refresh_tokens', 'personal_tokens', 'api_keys']) {
      await db.query(
        `ALTER TABLE ${table} ADD COLUMN created_ip varchar(64), ADD COLUMN created_user_agent varchar(256)`,
      );
    }
    for (const table of ['personal_tokens', 'api_keys']) {
      await db.query(`ALTER TABLE ${table} ADD COLUMN created_by varchar(64)`);
    }
    await db.query(`ALTER TABLE users ADD COLUMN credentials_epoch integer NOT NULL DEFAULT 0`);
    await db.query(`ALTER TABLE token_cutoffs ADD COLUMN generation integer NOT NULL DEFAULT 0`);
    await db.query(`
      CREATE TABLE revocation_log (
        seq bigserial NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        event jsonb NOT NULL,
        CONSTRAINT revocation_log_pkey PRIMARY KEY (seq)
      )`);
    await db.query(`CREATE INDEX revocation_log_at ON revocation_log (at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE revocation_log`);
    await db.query(`ALTER TABLE users DROP COLUMN credentials_epoch`);
    await db.query(`ALTER TABLE token_cutoffs DROP COLUMN generation`);
    for (const table of ['personal_tokens', 'api_keys']) await db.query(`ALTER TABLE ${table} DROP COLUMN created_by`);
    for (const table of ['sessions', 'refresh_tokens', 'personal_tokens', 'api_keys']) {
      await db.query(`ALTER TABLE ${table} DROP COLUMN created_ip, DROP COLUMN created_user_agent`);
    }
  }
}

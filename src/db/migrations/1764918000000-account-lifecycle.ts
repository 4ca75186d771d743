import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verified emails, the tokens that mail proves an address or resets a password with, the
 * outbox mail leaves through, and the sign-in origins a user was seen from. Accounts that
 * exist before the upgrade count as verified: they signed in without proof until now, and
 * locking them out on upgrade would help nobody.
 */
export class AccountLifecycle1764918000000 implements MigrationInterface {
  name = 'AccountLifecycle1764918000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN email_verified_at timestamptz`);
    await db.query(`UPDATE users SET email_verified_at = created_at`);
    await db.query(`
      CREATE TABLE account_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        purpose varchar(20) NOT NULL,
        token_hash bytea NOT NULL,
        email varchar(254) NOT NULL,
        credentials_epoch integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        CONSTRAINT account_tokens_token_hash_key UNIQUE (token_hash),
        CONSTRAINT account_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT account_tokens_purpose_known CHECK (purpose IN ('verify-email', 'change-email', 'reset-password'))
      )`);
    await db.query(`CREATE INDEX account_tokens_user_purpose ON account_tokens (user_id, purpose)`);
    await db.query(`CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at)`);
    await db.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        template varchar(64) NOT NULL,
        recipient varchar(254),
        "values" jsonb NOT NULL DEFAULT '{}',
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_id uuid,
        lease_until timestamptz,
        sent_at timestamptz,
        failed_at timestamptz,
        last_error varchar(500),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(
      `CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL`,
    );
    await db.query(`CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at)`);
    await db.query(`
      CREATE TABLE sign_in_origins (
        user_id uuid NOT NULL,
        kind varchar(10) NOT NULL,
        digest bytea NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT sign_in_origins_pkey PRIMARY KEY (user_id, kind, digest),
        CONSTRAINT sign_in_origins_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE sign_in_origins`);
    await db.query(`DROP TABLE mail_outbox`);
    await db.query(`DROP TABLE account_tokens`);
    await db.query(`ALTER TABLE users DROP COLUMN email_verified_at`);
  }
}

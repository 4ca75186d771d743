import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The client and the account of every OAuth row as indexed columns: deleting a client, and
 * revoking a user's grants on a password change or deactivation, no longer scan the payloads.
 */
export class OAuthOwnerColumns1764700000000 implements MigrationInterface {
  name = 'OAuthOwnerColumns1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE oauth_models ADD COLUMN client_id varchar(255), ADD COLUMN account_id varchar(255)`);
    await db.query(`UPDATE oauth_models SET client_id = payload->>'clientId', account_id = payload->>'accountId'`);
    await db.query(`CREATE INDEX oauth_models_client_id ON oauth_models (client_id)`);
    await db.query(`CREATE INDEX oauth_models_account_id ON oauth_models (account_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE oauth_models DROP COLUMN account_id, DROP COLUMN client_id`);
  }
}

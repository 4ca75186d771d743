import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OAuth1764600000000 implements MigrationInterface {
  name = 'OAuth1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE oauth_models (
        model varchar(64) NOT NULL,
        id varchar(255) NOT NULL,
        payload jsonb NOT NULL,
        grant_id varchar(255),
        uid varchar(255),
        user_code varchar(255),
        expires_at timestamptz,
        consumed_at timestamptz,
        CONSTRAINT oauth_models_pkey PRIMARY KEY (model, id)
      )`);
    await db.query(`CREATE INDEX oauth_models_grant_id ON oauth_models (grant_id)`);
    await db.query(`CREATE INDEX oauth_models_uid ON oauth_models (uid)`);
    await db.query(`CREATE INDEX oauth_models_expires_at ON oauth_models (expires_at)`);
    await db.query(`
      CREATE TABLE oauth_clients (
        client_id varchar(64) NOT NULL,
        user_id uuid NOT NULL,
        name varchar(100) NOT NULL,
        secret_hash varchar(64),
        redirect_uris text[] NOT NULL,
        grant_types text[] NOT NULL,
        scopes text[] NOT NULL,
        is_public boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT oauth_clients_pkey PRIMARY KEY (client_id),
        CONSTRAINT oauth_clients_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX oauth_clients_user_id ON oauth_clients (user_id)`);
    await db.query(`CREATE INDEX oauth_clients_created ON oauth_clients (created_at, client_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE oauth_clients`);
    await db.query(`DROP TABLE oauth_models`);
  }
}

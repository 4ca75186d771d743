import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Resources1764300000000 implements MigrationInterface {
  name = 'Resources1764300000000';

  async up(db: QueryRunner): Promise<void> {
    // Timestamps in whole milliseconds: they are pagination keys, and a JavaScript Date
    // (which carries the cursor) holds no microseconds.
    await db.query(`
      CREATE TABLE resources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL,
        name varchar(200) NOT NULL,
        description varchar(10000) NOT NULL DEFAULT '',
        visibility varchar(10) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        version integer NOT NULL DEFAULT 1,
        CONSTRAINT resources_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT resources_visibility_known CHECK (visibility IN ('private', 'public'))
      )`);
    await db.query(`CREATE INDEX resources_created ON resources (created_at, id)`);
    await db.query(`CREATE INDEX resources_owner_created ON resources (owner_id, created_at, id)`);
    await db.query(`CREATE INDEX resources_public_created ON resources (created_at, id) WHERE visibility = 'public'`);
    await db.query(`ALTER TABLE users ALTER COLUMN created_at SET DEFAULT date_trunc('milliseconds', now())`);
    await db.query(`UPDATE users SET created_at = date_trunc('milliseconds', created_at)`);
    await db.query(`CREATE INDEX users_created ON users (created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX users_created`);
    await db.query(`ALTER TABLE users ALTER COLUMN created_at SET DEFAULT now()`);
    await db.query(`DROP TABLE resources`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

export class FieldNotes0000000000000 implements MigrationInterface {
  name = 'FieldNotes0000000000000';

  async up(db: QueryRunner): Promise<void> {
    // Timestamps in whole milliseconds: they are pagination keys, and a JavaScript Date
    // (which carries the cursor) holds no microseconds.
    await db.query(`
      CREATE TABLE field_notes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL,
        title varchar(200) NOT NULL,
        body varchar(10000) NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        CONSTRAINT field_notes_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE INDEX field_notes_created ON field_notes (created_at, id)`);
    await db.query(`CREATE INDEX field_notes_owner_created ON field_notes (owner_id, created_at, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE field_notes`);
  }
}

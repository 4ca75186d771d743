import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When each key was last seen from each address, so the pairs no longer in use can be purged
 * (API_KEY_ADDRESS_RETENTION). Rows already there start at the upgrade: how long ago they were
 * last used is not known, and they get a full window to be seen again. No index: the purge
 * reads the whole table anyway (it ranks each key's addresses), and without one the daily
 * refresh of a pair stays a heap-only update.
 */
export class ApiKeyAddressLastSeen1765400000000 implements MigrationInterface {
  name = 'ApiKeyAddressLastSeen1765400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_key_addresses ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE api_key_addresses DROP COLUMN last_seen_at`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every address each API key was used from, so a use from a new one can raise an alert. Keys
 * already in use start with the address of their last use: otherwise the first use after
 * the upgrade would count as the first ever, and pass unnoticed from anywhere.
 */
export class ApiKeyAddresses1764800000000 implements MigrationInterface {
  name = 'ApiKeyAddresses1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE api_key_addresses (
        key_id uuid NOT NULL,
        address varchar(64) NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_key_addresses_pkey PRIMARY KEY (key_id, address),
        CONSTRAINT api_key_addresses_key_id_fkey FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
      )`);
    // In the form the app compares addresses in: an IPv4-mapped IPv6 address as plain IPv4.
    await db.query(`
      INSERT INTO api_key_addresses (key_id, address, first_seen_at)
      SELECT id, regexp_replace(lower(last_used_ip), '^::ffff:(\\d{1,3}(\\.\\d{1,3}){3})$', '\\1'),
             coalesce(last_used_at, now())
      FROM api_keys WHERE last_used_ip IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE api_key_addresses`);
  }
}

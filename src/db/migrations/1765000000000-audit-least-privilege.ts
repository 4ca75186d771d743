import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The role that alone may delete audit rows: NOLOGIN, reached only through the purge function. */
export const AUDIT_PURGER_ROLE = 'audit_purger';

/**
 * Least privilege for the audit trail (SECURITY.md, "Database roles"):
 *
 * - The append-only trigger loses its `audit.purging` escape (a setting any session could
 *   set). It lets a DELETE through only for the role that owns the purge function.
 * - The purge function is SECURITY DEFINER, owned by `audit_purger` (which holds DELETE on
 *   the audit tables and nothing else), and deletes only below the retention horizon the
 *   owner recorded in `audit_retention` (src/db/database-roles.ts writes it from
 *   AUDIT_RETENTION): a caller may ask for less, never for more. It keeps the chain's tail
 *   as before, and always the newest event, so the newest checkpoint has a row to match.
 * - `audit_checkpoints`: signed chain heads, append-only like the events.
 * - `security_event_outbox`: security events waiting for delivery to the webhook.
 *
 * Where the migration role may not create roles (a managed Postgres without CREATEROLE),
 * the function stays owned by the migration role: retention still works and the readiness
 * probe says the trail is not protected from that role (it owns the table anyway).
 */
export class AuditLeastPrivilege1765000000000 implements MigrationInterface {
  name = 'AuditLeastPrivilege1765000000000';

  async up(db: QueryRunner): Promise<void> {
    const [{ schema }] = (await db.query(`SELECT quote_ident(current_schema()) AS schema`)) as [{ schema: string }];
    await db.query(`
      CREATE TABLE audit_retention (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        keep_seconds integer CHECK (keep_seconds >= 86400)
      )`);
    await db.query(`INSERT INTO audit_retention (keep_seconds) VALUES (NULL)`);
    await db.query(`
      CREATE TABLE audit_checkpoints (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        seq bigint NOT NULL,
        hash bytea NOT NULL,
        at timestamptz NOT NULL,
        jws text NOT NULL
      )`);
    await db.query(`CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq)`);
    await db.query(`
      CREATE TABLE security_event_outbox (
        id varchar(64) PRIMARY KEY,
        type varchar(100) NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        failed_at timestamptz,
        last_error varchar(200)
      )`);
    await db.query(`
      CREATE INDEX security_event_outbox_due ON security_event_outbox (next_attempt_at)
      WHERE delivered_at IS NULL AND failed_at IS NULL`);

    await db.query(`DROP FUNCTION audit_events_purge_before(timestamptz)`);
    await db.query(`
      CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Only the owner of the purge function (audit_purger), that is: only the purge.
        IF TG_OP = 'DELETE' AND current_user = (
          SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = 'audit_events_purge_before(timestamptz)'::regprocedure
        ) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
      FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`);
    await db.query(`CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
    // search_path pinned, pg_temp last: a caller's temporary table cannot stand in for ours.
    await db.query(`
      CREATE FUNCTION audit_events_purge_before(cutoff timestamptz) RETURNS bigint
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
      DECLARE
        keep integer;
        horizon timestamptz;
        first_kept bigint;
        removed bigint;
      BEGIN
        SELECT keep_seconds INTO keep FROM audit_retention;
        IF keep IS NULL THEN
          RETURN 0;
        END IF;
        horizon := least(cutoff, now() - make_interval(secs => keep));
        -- By position in the chain, not by time: events of several instances may be written
        -- slightly out of time order, and a purge must leave an unbroken tail. The newest
        -- event always stays: the newest checkpoint names it.
        SELECT coalesce(
          (SELECT min(seq) FROM audit_events WHERE at >= horizon),
          (SELECT max(seq) FROM audit_events)
        ) INTO first_kept;
        IF first_kept IS NULL THEN
          RETURN 0;
        END IF;
        DELETE FROM audit_events WHERE seq < first_kept;
        GET DIAGNOSTICS removed = ROW_COUNT;
        -- Checkpoints of purged events can no longer be matched; the newest one always stays.
        DELETE FROM audit_checkpoints
        WHERE seq < first_kept AND id < (SELECT max(id) FROM audit_checkpoints);
        RETURN removed;
      END $$`);
    await db.query(`REVOKE ALL ON FUNCTION audit_events_purge_before(timestamptz) FROM PUBLIC`);
    await db.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${AUDIT_PURGER_ROLE}') THEN
          CREATE ROLE ${AUDIT_PURGER_ROLE} NOLOGIN;
        END IF;
        -- To hand it the function, the migration role must be able to act as it.
        IF NOT pg_has_role(current_user, '${AUDIT_PURGER_ROLE}', 'USAGE') THEN
          EXECUTE format('GRANT ${AUDIT_PURGER_ROLE} TO %I', current_user);
        END IF;
        GRANT USAGE ON SCHEMA ${schema} TO ${AUDIT_PURGER_ROLE};
        GRANT SELECT, DELETE ON audit_events, audit_checkpoints TO ${AUDIT_PURGER_ROLE};
        GRANT SELECT ON audit_retention TO ${AUDIT_PURGER_ROLE};
        ALTER FUNCTION audit_events_purge_before(timestamptz) OWNER TO ${AUDIT_PURGER_ROLE};
      EXCEPTION
        WHEN insufficient_privilege OR duplicate_object THEN
          RAISE NOTICE 'role ${AUDIT_PURGER_ROLE} not set up (%): the purge runs as the migration role', SQLERRM;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION audit_events_purge_before(timestamptz)`);
    await db.query(`
      CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.purging', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE FUNCTION audit_events_purge_before(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE removed bigint;
      BEGIN
        PERFORM set_config('audit.purging', 'on', true);
        DELETE FROM audit_events
        WHERE seq < COALESCE((SELECT min(seq) FROM audit_events WHERE at >= cutoff), 9223372036854775807);
        GET DIAGNOSTICS removed = ROW_COUNT;
        PERFORM set_config('audit.purging', 'off', true);
        RETURN removed;
      END $$`);
    await db.query(`DROP TABLE security_event_outbox`);
    await db.query(`DROP TABLE audit_checkpoints`);
    await db.query(`DROP TABLE audit_retention`);
  }
}

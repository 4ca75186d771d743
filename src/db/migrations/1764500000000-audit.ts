import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Audit1764500000000 implements MigrationInterface {
  name = 'Audit1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id uuid NOT NULL,
        at timestamptz NOT NULL,
        request_id varchar(128),
        actor_id uuid,
        auth_method varchar(16),
        credential_id varchar(64),
        action varchar(100) NOT NULL,
        target varchar(200),
        outcome varchar(10) NOT NULL,
        ip varchar(64),
        user_agent varchar(300),
        status integer,
        latency_ms integer,
        details jsonb NOT NULL DEFAULT '{}',
        prev_hash bytea NOT NULL,
        hash bytea NOT NULL,
        CONSTRAINT audit_events_id_key UNIQUE (id),
        CONSTRAINT audit_events_outcome_known CHECK (outcome IN ('success', 'failure', 'denied'))
      )`);
    await db.query(`CREATE INDEX audit_events_at ON audit_events (at, id)`);
    await db.query(`CREATE INDEX audit_events_actor ON audit_events (actor_id, at)`);
    await db.query(`CREATE INDEX audit_events_action ON audit_events (action, at)`);
    // Append-only: the application inserts; nothing updates or deletes, except the purge
    // function below, which says so for its own transaction only.
    await db.query(`
      CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.purging', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`);
    await db.query(`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
    // Retention: drops the oldest events; the chain then starts at the first kept event.
    await db.query(`
      CREATE FUNCTION audit_events_purge_before(cutoff timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
      DECLARE removed bigint;
      BEGIN
        PERFORM set_config('audit.purging', 'on', true);
        -- By position in the chain, not by time: events of several instances may be written
        -- slightly out of time order, and a purge must leave an unbroken tail.
        DELETE FROM audit_events
        WHERE seq < COALESCE((SELECT min(seq) FROM audit_events WHERE at >= cutoff), 9223372036854775807);
        GET DIAGNOSTICS removed = ROW_COUNT;
        PERFORM set_config('audit.purging', 'off', true);
        RETURN removed;
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_events`);
    await db.query(`DROP FUNCTION audit_events_purge_before(timestamptz)`);
    await db.query(`DROP FUNCTION audit_events_refuse_change()`);
  }
}

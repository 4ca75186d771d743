import pg from 'pg';
import type { DataSource } from 'typeorm';

/** Tables the server's role may read and append to, never change: the audit trail and its anchors. */
const APPEND_ONLY_TABLES = ['audit_events', 'audit_checkpoints'];
/** Tables only the owner writes: the retention horizon and the migration history. */
const OWNER_WRITTEN_TABLES = ['audit_retention', 'schema_migrations'];

export interface DatabaseRoleSettings {
  /** The role the server runs as (DATABASE_URL's user), when it is not the migration role. */
  appRole: string | undefined;
  /** AUDIT_RETENTION; undefined keeps audit events forever. */
  auditRetentionSeconds: number | undefined;
}

/** The user of a postgres:// URL: the role its connections act as. */
export function roleOf(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'postgres';
}

/**
 * Run by the owner role after the migrations, every time they run (so a new table is
 * covered at once): records the retention horizon the purge function keeps to, and grants
 * the app role everything on every table except the audit trail and its checkpoints, where
 * it may only INSERT and SELECT, and the owner's own tables, which it may only read. The app
 * role reaches deletion of audit rows only through the purge function.
 */
export async function applyDatabaseRoles(owner: DataSource, settings: DatabaseRoleSettings): Promise<void> {
  await owner.transaction(async (db) => {
    await db.query(`UPDATE audit_retention SET keep_seconds = $1`, [settings.auditRetentionSeconds ?? null]);
    if (!settings.appRole) return;
    const [{ schema }] = (await db.query(`SELECT current_schema() AS schema`)) as [{ schema: string }];
    const role = pg.escapeIdentifier(settings.appRole);
    const inSchema = pg.escapeIdentifier(schema);
    await db.query(`GRANT USAGE ON SCHEMA ${inSchema} TO ${role}`);
    await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${inSchema} TO ${role}`);
    await db.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${inSchema} TO ${role}`);
    await db.query(
      `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${APPEND_ONLY_TABLES.join(', ')} FROM ${role}`,
    );
    await db.query(
      `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${OWNER_WRITTEN_TABLES.join(', ')} FROM ${role}`,
    );
    await db.query(`GRANT EXECUTE ON FUNCTION audit_events_purge_before(timestamptz) TO ${role}`);
  });
}

/** What the server's own role could do to the audit trail, read at boot. */
export interface AuditTrailExposure {
  /** The role may rewrite or delete audit rows (owner, superuser, or granted UPDATE/DELETE/TRUNCATE). */
  rewritable: boolean;
  role: string;
}

export async function auditTrailExposure(dataSource: DataSource): Promise<AuditTrailExposure> {
  const [row] = (await dataSource.query(`
    SELECT current_user AS role,
      (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
      OR pg_has_role(current_user, c.relowner, 'USAGE')
      OR has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE')
      OR has_table_privilege(c.oid, 'TRUNCATE') AS rewritable
    FROM pg_class c WHERE c.oid = 'audit_events'::regclass`)) as [{ role: string; rewritable: boolean }];
  return { role: row.role, rewritable: row.rewritable };
}

import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config.js';

/** Which database the server uses, never with its credentials: `postgres db.internal:5432/app`. */
export function describeDatabase(config: AppConfig): string {
  if (!config.db.url) {
    const where = config.app.dataDir ? join(config.app.dataDir, 'pgdata') : 'memory';
    return `embedded PGlite (${where})`;
  }
  const url = new URL(config.db.url);
  return `postgres ${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

/**
 * The one line that says where the server is: where it listens, where its docs are, which
 * database and mail transport it uses. Fields too, for JSON logs.
 */
export function startupLine(config: AppConfig, listening: string): { fields: Record<string, string>; message: string } {
  const fields = {
    url: listening,
    publicUrl: config.app.publicUrl,
    docs: `${config.app.publicUrl}/docs`,
    database: describeDatabase(config),
    // SMTP arrives with the mail work; until then nothing sends mail.
    mail: 'none configured',
  };
  return {
    fields,
    message: `Listening on ${fields.url}, public URL ${fields.publicUrl}; API docs ${fields.docs}; database ${fields.database}; mail ${fields.mail}`,
  };
}

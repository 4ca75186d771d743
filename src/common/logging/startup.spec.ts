import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/app-config.js';
import { terminalDestination } from './pretty.js';
import { startupLine } from './startup.js';

describe('the startup line', () => {
  it('should say where the server listens, its docs, the database without credentials and the mail transport', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://api.example.com',
      DATABASE_URL: 'postgres://app:hunter2@db.internal:6543/appdb',
    });
    const { message, fields } = startupLine(config, 'http://127.0.0.1:3000');
    expect(message).toBe(
      'Listening on http://127.0.0.1:3000, public URL https://api.example.com; API docs https://api.example.com/docs; ' +
        'database postgres db.internal:6543/appdb; mail none configured',
    );
    expect(JSON.stringify(fields)).not.toMatch(/hunter2|app:/);
  });

  it('should name the embedded database and where it lives', () => {
    expect(startupLine(loadConfig({ DATA_DIR: '/srv/data' }), 'http://127.0.0.1:3000').fields.database).toBe(
      'embedded PGlite (/srv/data/pgdata)',
    );
  });
});

describe('log lines at a terminal', () => {
  const wasTty = process.stdout.isTTY;
  afterEach(() => {
    process.stdout.isTTY = wasTty;
  });

  it('should be readable text at a terminal in development, and JSON when piped or in production', async () => {
    process.stdout.isTTY = true;
    const pretty = await terminalDestination(loadConfig({}));
    expect(pretty).toBeInstanceOf(Writable);
    expect(
      await terminalDestination(loadConfig({ NODE_ENV: 'production', ALLOW_DEV_DEFAULTS: 'true' })),
    ).toBeUndefined();
    process.stdout.isTTY = false;
    expect(await terminalDestination(loadConfig({}))).toBeUndefined();
  });
});

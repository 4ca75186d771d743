import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { AuditEventsRepository } from '../../src/modules/audit/audit-events.repository.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { generateKeySet } from '../../src/modules/auth/jwt/signing-keys.js';
import { signedIn } from '../factories/auth.js';
import { ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { startTestApp, TestDatabase, type TestApp } from '../setup/test-app.js';

const REQUESTS = 30;
const POLL_EVERY_MS = 20;

async function bufferDepth(t: TestApp): Promise<number> {
  const metric = await t.app.get(MetricsRegistry).registry.getSingleMetric('audit_buffer_depth')?.get();
  return metric?.values[0]?.value ?? 0;
}

/**
 * Events of requests answered just before shutdown must reach the table: the writer
 * drains its buffer before the database closes. What the table holds is read as the pool
 * closes (on both databases) and, on a real Postgres, again from outside after the app is
 * gone.
 */
describe('audit trail at shutdown', () => {
  const adminUrl = process.env.DATABASE_URL;
  let database: TestDatabase | undefined;
  afterAll(() => database?.release());

  it('should write the events of every request answered before close', async () => {
    // On Postgres the test holds the database too, so it outlives the app.
    database = adminUrl ? (await TestDatabase.create(adminUrl)).retain() : undefined;
    const t = await startTestApp({}, database ? { database } : {});
    const writer = t.app.get(AuditWriter);
    const dataSource = t.app.get(DataSource);
    try {
      const { tokens } = await signedIn(t.http);
      await writer.drain();
      // Hold the timer's flushes, so the events are still buffered when close begins.
      let holding = true;
      const flush = writer.flush.bind(writer);
      vi.spyOn(writer, 'flush').mockImplementation(() => (holding ? Promise.resolve(false) : flush()));

      const ids = new Set<string>();
      await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const res = await t.http
            .post('/api/v1/resources')
            .set('Authorization', `Bearer ${tokens.access_token}`)
            .send({ name: `shutdown ${i}`, visibility: 'private' });
          expect(res.status).toBe(201);
          ids.add(res.body.id as string);
        }),
      );
      expect(await bufferDepth(t)).toBeGreaterThanOrEqual(REQUESTS);

      let atPoolClose:
        { targets: string[]; chain: Awaited<ReturnType<AuditEventsRepository['verifyChain']>> } | undefined;
      const destroy = dataSource.destroy.bind(dataSource);
      const repository = t.app.get(AuditEventsRepository);
      dataSource.destroy = async () => {
        const rows = (await dataSource.query(`SELECT target FROM audit_events WHERE action = 'resource.create'`)) as {
          target: string;
        }[];
        atPoolClose = { targets: rows.map((row) => row.target), chain: await repository.verifyChain() };
        return destroy();
      };
      holding = false;
      await t.close();

      expect(atPoolClose).toBeDefined();
      expect(new Set(atPoolClose?.targets)).toEqual(ids);
      expect(atPoolClose?.chain.firstBreak).toBeUndefined();
      expect(dataSource.isInitialized).toBe(false);
    } finally {
      await t.close();
    }

    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_events WHERE action = 'resource.create'`,
        );
        expect(rows[0]?.n).toBe(REQUESTS);
      } finally {
        await client.end();
      }
    }
  });
});

/** Resolves once `port` refuses new connections: the server stopped accepting. */
async function untilRefused(port: number): Promise<void> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.once('error', () => resolve(true));
    });
    if (refused) return;
    await sleep(POLL_EVERY_MS);
  }
}

/** Everything the socket receives until the server closes it. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

/**
 * The order at SIGTERM, in a real server process: stop accepting, finish the requests in
 * flight, then drain the audit buffer. A request whose body is still arriving when the
 * server stops accepting is answered, and its event is in the table after the exit.
 */
describe('audit trail at SIGTERM (a server process)', () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await database?.release();
  });

  it('should write the audit event of a request in flight when SIGTERM arrives', async () => {
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      JWT_KEYS: JSON.stringify(await generateKeySet()),
      SHUTDOWN_GRACE: '1s',
    };
    server = await ServerProcess.start('server', env);
    const { tokens } = await signedIn(request(server.origin));

    const body = JSON.stringify({ name: 'in flight at SIGTERM', visibility: 'private' });
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const response = readAll(socket);
    socket.write(
      [
        'POST /api/v1/resources HTTP/1.1',
        `Host: 127.0.0.1:${server.port}`,
        `Authorization: Bearer ${tokens.access_token}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: keep-alive',
        '',
        body.slice(0, 10),
      ].join('\r\n'),
    );
    const stopped = server.stop();
    await untilRefused(server.port);
    socket.write(body.slice(10));
    const answer = await response;
    expect(answer).toMatch(/^HTTP\/1\.1 201 /);
    const created = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { id: string };
    await stopped;

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ outcome: string }>(
        `SELECT outcome FROM audit_events WHERE action = 'resource.create' AND target = $1`,
        [created.id],
      );
      expect(rows).toEqual([{ outcome: 'success' }]);
      // Then the head, with that event in it, was signed on the way out.
      const { rows: heads } = await client.query<{ checkpoint: string; head: string }>(
        `SELECT (SELECT seq::text FROM audit_checkpoints ORDER BY id DESC LIMIT 1) AS checkpoint,
                (SELECT max(seq)::text FROM audit_events) AS head`,
      );
      expect(heads[0]?.checkpoint).toBe(heads[0]?.head);
    } finally {
      await client.end();
    }
  });
});

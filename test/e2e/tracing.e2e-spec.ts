import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newRegistration } from '../factories/users.js';
import { ServerProcess } from '../setup/server-process.js';
import { LOCAL_POSTGRES } from '../setup/services.js';
import { describeWithSharedServices, TEST_REDIS_URL, TestDatabase } from '../setup/test-app.js';

const OTEL_HOOK = fileURLToPath(new URL('../../dist/otel.js', import.meta.url));

interface Span {
  traceId: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** OTLP/JSON ids are hex; some encoders send base64. */
function hex(id: string): string {
  return /^[0-9a-f]{32}$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');
}

/** The first of `keys` the span has (semantic-convention names changed over versions). */
function attribute(span: Span, ...keys: string[]): unknown {
  const value = span.attributes.find((a) => keys.includes(a.key))?.value;
  return value && Object.values(value)[0];
}

const dbSystem = (span: Span) => attribute(span, 'db.system.name', 'db.system');
const dbStatement = (span: Span) => attribute(span, 'db.query.text', 'db.statement');

/** An OTLP/HTTP (JSON) trace receiver on loopback, as a collector would be. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: Span[] }> {
  const spans: Span[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
        for (const resource of payload.resourceSpans)
          for (const scope of resource.scopeSpans)
            for (const span of scope.spans) spans.push({ ...span, traceId: hex(span.traceId) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

/**
 * The built server loaded as in production (`node --import ./dist/otel.js dist/main.js`),
 * with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver this test runs: one request's
 * spans (HTTP, Postgres) share the trace id the client sent in `traceparent`, and so do its
 * log line, its audit event and, for a refused request, its problem details.
 */
describeWithSharedServices('OpenTelemetry tracing', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let database: TestDatabase;
  let server: ServerProcess;
  let log = '';
  const traceId = randomBytes(16).toString('hex');
  const refusedTraceId = randomBytes(16).toString('hex');
  const traceparent = (id: string) => `00-${id}-${randomBytes(8).toString('hex')}-01`;
  let requestId: string;
  let refusal: { traceId?: string; requestId: string };
  let secrets: string[];

  beforeAll(async () => {
    receiver = await startReceiver();
    database = (await TestDatabase.create(process.env.DATABASE_URL || LOCAL_POSTGRES)).retain();
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: ':memory:',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
      SHUTDOWN_GRACE: '0s',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    };
    server = await ServerProcess.start('traced', env, ['--import', OTEL_HOOK]);
    const registration = newRegistration();
    const json = { 'content-type': 'application/json' };
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.origin}${path}`, {
        method: 'POST',
        headers: { ...json, ...headers },
        body: JSON.stringify(body),
      });
    expect((await post('/api/v1/auth/register', registration)).status).toBe(201);
    const login = await post('/api/v1/auth/login', { email: registration.email, password: registration.password });
    const { access_token } = (await login.json()) as { access_token: string };
    const created = await post(
      '/api/v1/resources',
      { name: 'Traced', visibility: 'private' },
      { authorization: `Bearer ${access_token}`, traceparent: traceparent(traceId) },
    );
    expect(created.status).toBe(201);
    requestId = created.headers.get('x-request-id') ?? '';
    // A secret in a query string, as OAuth requests carry state and codes.
    const querySecret = `query-secret-${randomBytes(6).toString('hex')}`;
    await fetch(`${server.origin}/api/v1/resources?token=${querySecret}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    secrets = [access_token, registration.password, querySecret];
    const refused = await post('/api/v1/resources', { name: 'No' }, { traceparent: traceparent(refusedTraceId) });
    expect(refused.status).toBe(401);
    refusal = (await refused.json()) as typeof refusal;
    // SIGTERM: the audit buffer drains and the spans still buffered are sent before the exit.
    await server.stop();
    log = server.log;
  });
  afterAll(async () => {
    receiver?.server.close();
    await database?.release();
  });

  it('should export the request’s HTTP and Postgres spans under the trace id it came with', () => {
    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    const http = spans.find((span) => span.kind === 2);
    expect(http, 'a SERVER span').toBeDefined();
    expect(attribute(http as Span, 'http.route') ?? http?.name).toMatch(/resources/);
    const sql = spans.filter((span) => dbSystem(span) === 'postgresql');
    expect(sql.map((span) => String(dbStatement(span)))).toContainEqual(
      expect.stringMatching(/^INSERT INTO "?resources"?\b/),
    );
    // Statements without their values (enhancedDatabaseReporting stays off).
    expect(JSON.stringify(sql)).not.toContain('Traced');
  });

  it('should export Redis spans with the command name only', () => {
    const redis = receiver.spans.filter((span) => dbSystem(span) === 'redis');
    expect(redis.length).toBeGreaterThan(0);
    for (const span of redis) expect(String(dbStatement(span) ?? '')).toMatch(/^[a-z]+$/);
  });

  it('should record no credential, password or secret query parameter in any span', () => {
    const exported = JSON.stringify(receiver.spans);
    // The query string is recorded, with its secret redacted.
    expect(exported).toMatch(/token=(%5B|\[)redacted/);
    for (const secret of secrets) expect(exported).not.toContain(secret);
  });

  it('should put the trace id in the request’s log line and in its audit event', async () => {
    const line = log.split('\n').find((l) => l.includes(requestId) && l.includes('"statusCode":201'));
    expect(line, 'the request log line').toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ traceId });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ action: string; details: { traceId?: string } }>(
        'SELECT action, details FROM audit_events WHERE request_id = $1',
        [requestId],
      );
      expect(rows.map((row) => row.action)).toContain('resource.create');
      for (const row of rows) expect(row.details.traceId).toBe(traceId);
    } finally {
      await client.end();
    }
  });

  it('should put the trace id in the problem details of a refused request', () => {
    expect(refusal.traceId).toBe(refusedTraceId);
    expect(log).toContain(`"traceId":"${refusedTraceId}"`);
  });
});

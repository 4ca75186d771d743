import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PinoLogger } from 'nestjs-pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../config/app-config.js';
import { AlertWebhook, type AlertPayload } from './alert-webhook.js';

interface Received {
  body: unknown;
  headers: IncomingMessage['headers'];
  url: string | undefined;
  at: number;
}

const payload: AlertPayload = {
  alert: 'security.alert',
  detector: 'login-failures-per-address',
  subject: '10.0.0.1',
  count: 10,
  at: new Date(0).toISOString(),
};

/** A receiver on 127.0.0.1 that answers each call with the next of `statuses` (the last one repeats). */
async function receiver(statuses: (number | 'hang')[]): Promise<{ server: Server; port: number; calls: Received[] }> {
  const calls: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      calls.push({ body: JSON.parse(text) as unknown, headers: req.headers, url: req.url, at: Date.now() });
      const status = statuses[Math.min(calls.length - 1, statuses.length - 1)] ?? 200;
      if (status !== 'hang') res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, calls };
}

function logger() {
  return { warn: vi.fn(), error: vi.fn(), info: vi.fn() };
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe(AlertWebhook.name, () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  async function setUp(
    statuses: (number | 'hang')[],
    url = (port: number) => `http://127.0.0.1:${port}/hook`,
    timeout = '1s',
  ) {
    const r = await receiver(statuses);
    servers.push(r.server);
    const log = logger();
    const config = loadConfig({ ALERT_WEBHOOK_URL: url(r.port), ALERT_WEBHOOK_TIMEOUT: timeout });
    const webhook = new AlertWebhook(config, log as unknown as PinoLogger);
    return { ...r, log, webhook };
  }

  it('should POST the alert as JSON and return before the call completes', async () => {
    const { calls, webhook } = await setUp([200]);
    webhook.send(payload);
    expect(calls).toHaveLength(0);
    await until(() => calls.length === 1);
    expect(calls[0]?.body).toEqual(payload);
    expect(calls[0]?.headers['content-type']).toBe('application/json');
  });

  it('should try again after 200 ms then 400 ms on server errors, and stop at success', async () => {
    const { calls, webhook, log } = await setUp([500, 503, 200]);
    webhook.send(payload);
    await until(() => calls.length === 3);
    const [first, second, third] = calls.map((c) => c.at);
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(190);
    expect((third as number) - (second as number)).toBeGreaterThanOrEqual(390);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(calls).toHaveLength(3);
    expect(log.error).not.toHaveBeenCalled();
  });

  it('should give up after three attempts and say so', async () => {
    const { calls, webhook, log } = await setUp([500]);
    webhook.send(payload);
    await until(() => log.error.mock.calls.length === 1);
    expect(calls).toHaveLength(3);
  });

  it('should not retry a client error other than 408 or 429', async () => {
    const { calls, webhook, log } = await setUp([400, 200]);
    webhook.send(payload);
    await until(() => log.error.mock.calls.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toHaveLength(1);
  });

  it('should give up on an attempt after the timeout and try again', async () => {
    const { calls, webhook, log } = await setUp(['hang', 200]);
    const started = Date.now();
    webhook.send(payload);
    await until(() => calls.length === 2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(log.warn.mock.calls[0]?.[0]).toMatchObject({ reason: 'timeout', attempt: 1 });
  });

  it('should send user info as Basic auth and log the webhook by its origin only', async () => {
    const { calls, webhook, log, port } = await setUp(
      [500],
      (p) => `http://hook-user:hook-pass@127.0.0.1:${p}/services/SECRET-PATH?token=SECRET-QUERY`,
    );
    webhook.send(payload);
    await until(() => log.error.mock.calls.length === 1);
    expect(calls[0]?.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`);
    expect(calls[0]?.url).toBe('/services/SECRET-PATH?token=SECRET-QUERY');
    const logged = JSON.stringify([...log.warn.mock.calls, ...log.error.mock.calls]);
    expect(logged).toContain(`http://127.0.0.1:${port}`);
    for (const secret of ['hook-user', 'hook-pass', 'SECRET-PATH', 'SECRET-QUERY'])
      expect(logged).not.toContain(secret);
  });

  it('should not follow a redirect, which could carry the credentials elsewhere', async () => {
    const { calls, webhook, log } = await setUp([302, 200]);
    webhook.send(payload);
    await until(() => calls.length >= 2 || log.error.mock.calls.length === 1);
    expect(calls.map((c) => c.url)).not.toContain('/elsewhere');
  });

  it('should abandon deliveries at shutdown after one attempt time', async () => {
    const { webhook } = await setUp(['hang']);
    webhook.send(payload);
    const started = Date.now();
    await webhook.beforeApplicationShutdown();
    expect(Date.now() - started).toBeLessThan(2_500);
    webhook.send(payload);
  });

  it('should do nothing without ALERT_WEBHOOK_URL', () => {
    const webhook = new AlertWebhook(loadConfig({}), logger() as unknown as PinoLogger);
    expect(() => webhook.send(payload)).not.toThrow();
  });
});

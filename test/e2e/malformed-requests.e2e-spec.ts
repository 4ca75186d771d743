import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { LEAKS_INTERNALS } from '../support/problem-details.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent before it closed the connection. */
  raw: string;
}

function parse(raw: string): RawResponse {
  const [head = '', body = ''] = raw.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((line) => [
      line.slice(0, line.indexOf(':')).toLowerCase(),
      line.slice(line.indexOf(':') + 1).trim(),
    ]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body, raw };
}

/** Sends `request` as is on a fresh connection and reads until the server closes it. */
function exchange(port: number, request: string, onConnected?: () => void): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket: Socket = connect(port, '127.0.0.1', () => {
      if (request) socket.write(request);
      onConnected?.();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
  });
}

function expectRawProblem(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(res.headers.connection).toBe('close');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:problem:/), title: expect.any(String) });
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expect(res.raw).not.toMatch(LEAKS_INTERNALS);
}

/**
 * Requests Node's HTTP parser refuses never reach Express: the server answers them itself,
 * and must still answer problem+json (and close the connection) like every other refusal.
 */
describe('malformed HTTP requests', () => {
  let t: TestApp;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp();
    server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  it('should answer a request line that is not HTTP with 400 problem+json and close', async () => {
    const res = await exchange(port, 'HELLO THERE\r\n\r\n');
    expectRawProblem(res, 400);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:problem:bad-request', instance: '/' });
  });

  it('should answer a malformed header with 400, without echoing it', async () => {
    const res = await exchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header<script>: y\r\n\r\n');
    expectRawProblem(res, 400);
    expect(res.raw).not.toContain('<script>');
  });

  it('should answer headers over the size limit with 431', async () => {
    const res = await exchange(port, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expectRawProblem(res, 431);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:problem:request-header-fields-too-large' });
  });

  it('should answer a request too slow to arrive with 408', async () => {
    // Node checks for slow requests every 30 s, from timers set when the server was made;
    // the error it then raises is handed to the same listener as here.
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const res = await exchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n', () => {
      void accepted.then((socket) =>
        server.emit(
          'clientError',
          Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
          socket,
        ),
      );
    });
    expectRawProblem(res, 408);
  });

  it('should close without an answer a kept-alive connection whose next request is malformed', async () => {
    // Its client may not have read the first response yet, and would take ours for part of it.
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).toString('latin1').endsWith('{"status":"ok"}')) socket.write('HELLO THERE\r\n\r\n');
    });
    await new Promise((resolve) => socket.on('close', resolve));
    const raw = Buffer.concat(chunks).toString('latin1');
    expect(parse(raw).status).toBe(200);
    expect(raw.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
  });

  it('should still serve well-formed requests', async () => {
    await t.http.get('/health/live').expect(200, { status: 'ok' });
  });
});

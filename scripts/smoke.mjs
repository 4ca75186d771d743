#!/usr/bin/env node
// End-to-end smoke on the embedded database, as a newcomer runs it: the built server with
// DATABASE_URL unset, a fresh DATA_DIR, real HTTP. Also proves the data-folder lock: a
// second server on the same folder exits with a clear message while the first keeps its data.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const dataDir = mkdtempSync(join(tmpdir(), 'smoke-'));
const env = { ...process.env, DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'warn', SHUTDOWN_GRACE: '2s' };
delete env.DATABASE_URL;
delete env.REDIS_URL;

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The built server, as the Dockerfile runs it (node, whose exit code the test reads) or, with
 * `viaNpm`, as README says (`npm run start:prod`). Each in a process group of its own, so a
 * signal reaches npm, its shell and the server together, as from a terminal.
 */
function start(port, { viaNpm = false } = {}) {
  const [command, args] = viaNpm ? ['npm', ['run', '--silent', 'start:prod']] : [process.execPath, ['dist/main.js']];
  const child = spawn(command, args, {
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.terminate = () => process.kill(-child.pid, 'SIGTERM');
  child.output = '';
  child.stdout.on('data', (d) => (child.output += d));
  child.stderr.on('data', (d) => (child.output += d));
  child.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return child;
}

async function waitReady(base, child) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${child.output}`);
    try {
      const res = await fetch(`${base}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server not ready in time:\n${child.output}`);
}

async function api(base, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * The code of the newest verification mail to `to` in DATA_DIR/mail, once the server wrote
 * it (development mail: no SMTP_URL). The text part is quoted-printable: soft breaks go.
 */
async function verificationCode(to) {
  const folder = join(dataDir, 'mail');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const files = existsSync(folder)
      ? readdirSync(folder, { withFileTypes: true }).filter((f) => f.name.endsWith('.eml'))
      : [];
    for (const file of files
      .map((f) => f.name)
      .sort()
      .reverse()) {
      const eml = readFileSync(join(folder, file), 'utf8').replace(/=\r?\n/g, '');
      const code = eml.includes(`\nTo: ${to}\n`) && /^Code: (nsa_verify_\S+)$/m.exec(eml)?.[1];
      if (code) return code;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no verification mail to ${to} in ${folder}`);
}

const steps = [];
const step = (name) => {
  steps.push(name);
  process.stdout.write(`smoke: ${name}\n`);
};

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let first = start(port);
try {
  await waitReady(base, first);
  step('first server ready on the embedded database');

  const user = { email: 'Smoke@Example.com', password: 'Tidal-Orbit-5150-Quartz!', displayName: 'Smoke' };
  const credentials = { email: user.email, password: user.password };
  const created = await api(base, 'POST', '/api/v1/auth/register', user);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const unverified = await api(base, 'POST', '/api/v1/auth/login', credentials);
  assert.equal(unverified.status, 403, 'no sign-in before the email is proved');
  const verified = await api(base, 'POST', '/api/v1/auth/email/verify', {
    token: await verificationCode('smoke@example.com'),
  });
  assert.equal(verified.status, 204, JSON.stringify(verified.body));
  assert.equal((await api(base, 'POST', '/api/v1/auth/login', credentials)).status, 200);
  step('register 202, the code from DATA_DIR/mail proves the email, sign-in 200');

  const second = start(await freePort());
  const code = await Promise.race([
    second.exited,
    new Promise((_, reject) => setTimeout(() => reject(new Error('second server did not exit')), 30_000)),
  ]);
  assert.notEqual(code, 0, 'second server on the same folder must fail');
  assert.match(second.output, /already in use by process \d+/);
  step('second server on the same DATA_DIR exits with a clear message');

  const again = await api(base, 'POST', '/api/v1/auth/login', credentials);
  assert.equal(again.status, 200, 'the first server still has the user');
  step('first server keeps its data');

  first.terminate();
  await new Promise((r) => setTimeout(r, 300));
  const draining = await fetch(`${base}/health/ready`);
  assert.equal(draining.status, 503, 'readiness turns 503 during the grace period');
  assert.equal((await fetch(`${base}/health/live`)).status, 200, 'requests are still served during the grace period');
  step('SIGTERM: readiness 503 while requests are still served');
  assert.equal(await first.exited, 0, `graceful exit code:\n${first.output}`);
  step('SIGTERM exits 0 and releases the folder');

  first = start(port, { viaNpm: true });
  await waitReady(base, first);
  const afterRestart = await api(base, 'POST', '/api/v1/auth/login', credentials);
  assert.equal(afterRestart.status, 200, 'data persisted across restart');
  step('restart with npm run start:prod on the same folder keeps the data');
  process.stdout.write(`${steps.length} passed, 0 failed\n`);
} finally {
  if (first.exitCode === null) first.terminate();
  await first.exited;
  rmSync(dataDir, { recursive: true, force: true });
}

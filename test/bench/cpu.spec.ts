import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuMs } from '../../bench/server.js';

/** A child that burns this much CPU, then idles until killed. */
const CHILD_CPU_MS = 400;
const child = `
  const until = ${CHILD_CPU_MS} * 1000;
  const spent = () => { const { user, system } = process.cpuUsage(); return user + system; };
  while (spent() < until);
  console.log('burnt');
  setInterval(() => {}, 1000);
`;
/** A parent that does nothing but start the child, as a cluster primary starts its workers. */
const parent = `
  const { spawn } = require('node:child_process');
  spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: ['ignore', 'inherit', 'inherit'] });
  setInterval(() => {}, 1000);
`;

describe('cpuMs (bench/server.ts)', () => {
  it("should count a server's child processes, where WEB_CONCURRENCY's workers do the work", async () => {
    // Its own process group, so that the child goes with it.
    const primary = spawn(process.execPath, ['-e', parent], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    try {
      await once(primary.stdout, 'data');
      // The parent alone spent well under this (starting Node); the child at least CHILD_CPU_MS.
      expect(cpuMs(primary.pid!)).toBeGreaterThanOrEqual(CHILD_CPU_MS);
    } finally {
      process.kill(-primary.pid!, 'SIGKILL');
    }
  });
});

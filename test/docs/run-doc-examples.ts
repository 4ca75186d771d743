/**
 * Runs the examples of README.md, SECURITY.md and docs/ as a newcomer would (.ci/run calls
 * it after the build): the `cli` blocks on a fresh embedded database, then the quick start's
 * own command to start the server on it, then the `with-server` blocks against that server
 * (`localhost:3000` becomes the port it got, and curl fails on any HTTP error). Exits
 * non-zero, naming the block, when an example fails or one is not accounted for (see
 * doc-examples.ts for the kinds), and when the server logged an error while they ran or as it
 * stopped: an example can pass while the server behind it fails (a checkpoint, a mail).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { levels } from 'pino';
// @ts-expect-error TS5097: Node runs this file as TypeScript source, so the import names the .ts file.
import { allExamples, exampleProblems, ROOT, type Example } from './doc-examples.ts';

/** npm install, then a build, then boot: minutes on a slow machine. */
const SERVER_READY_WITHIN_MS = 300_000;
const STOP_WITHIN_MS = 30_000;
/** The log is written asynchronously: the line may follow the first ready answer by a moment. */
const STARTUP_LINE_WITHIN_MS = 5_000;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runBlock(example: Example, env: NodeJS.ProcessEnv, cwd: string, script = example.script): void {
  console.log(`\n--- ${example.where} (${example.kind})\n${script}`);
  // Every HTTP error fails the example: curl -s alone would print a problem and exit 0.
  const prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n';
  const result = spawnSync('bash', ['-c', prelude + script], { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${example.where}: the example exited with ${result.status}`);
}

async function untilReady(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + SERVER_READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the quick-start server exited with ${server.exitCode}`);
    const ready = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return;
    await sleep(500);
  }
  throw new Error(`the quick-start server was not ready at ${url} in time`);
}

async function untilPrinted(output: () => string, text: string): Promise<void> {
  const deadline = Date.now() + STARTUP_LINE_WITHIN_MS;
  while (!output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`the quick-start server never printed its startup line ("${text}")`);
    await sleep(100);
  }
}

async function stop(server: ChildProcess): Promise<void> {
  const output = server.stdout;
  if (server.pid === undefined || output === null || output.closed) return;
  const group = -server.pid;
  // Every process of the group holds the output pipe, so it closes once the last one is gone:
  // the Node server, after its shutdown grace. npm may exit first, and the data folder must
  // outlive the server's last checkpoint.
  const closed = new Promise((resolve) => output.once('close', resolve));
  // npm, the Node wrapper and nest start: the whole group gets the signal, as from a terminal.
  process.kill(group, 'SIGTERM');
  await Promise.race([
    closed,
    // Unreferenced: once the pipe closes, this timer keeps nothing waiting.
    sleep(STOP_WITHIN_MS, undefined, { ref: false }).then(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // Gone in the meantime.
      }
    }),
  ]);
}

/** The server's JSON log lines at `error` or above (it logs JSON to a pipe; other output is not a log line). */
function errorLines(output: string): string[] {
  return output.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    try {
      const { level } = JSON.parse(line) as { level?: unknown };
      return typeof level === 'number' && level >= levels.values.error!;
    } catch {
      return false;
    }
  });
}

async function main(): Promise<void> {
  const examples = allExamples();
  const problems = exampleProblems(examples);
  if (problems.length > 0) throw new Error(`examples not accounted for:\n${problems.join('\n')}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'doc-examples-'));
  const port = await freePort();
  // The quick start as on a fresh machine: no DATABASE_URL or REDIS_URL, the embedded database.
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.NODE_ENV;
  let server: ChildProcess | undefined;
  let output = '';
  try {
    for (const example of examples.filter(({ kind }) => kind === 'cli')) runBlock(example, env, ROOT);

    const quickStart = examples.find(({ kind }) => kind === 'quick-start') as Example;
    const start = quickStart.commands[0] as string;
    console.log(`\n--- ${quickStart.where} (quick start): ${start}`);
    // At info, as a newcomer runs it: the first thing it says is where it listens (the startup line).
    server = spawn('bash', ['-c', start], {
      cwd: ROOT,
      env: { ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk);
    });
    await untilReady(`http://127.0.0.1:${port}/health/ready`, server);
    await untilPrinted(() => output, `Listening on http://127.0.0.1:${port}`);

    for (const example of examples.filter(({ kind }) => kind === 'with-server')) {
      runBlock(example, env, dataDir, example.script.replaceAll('localhost:3000', `localhost:${port}`));
    }
  } finally {
    if (server) await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const errors = errorLines(output);
  if (errors.length > 0) {
    throw new Error(`the quick-start server logged ${errors.length} error line(s):\n${errors.slice(0, 5).join('\n')}`);
  }
  console.log(`\nevery example ran: ${examples.length} blocks, and the server logged no error`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

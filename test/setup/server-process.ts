import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../factories/oauth.js';
import { NO_MFA_REQUIRED_ROLES } from './mfa-roles.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = join(ROOT, 'dist/main.js');
const NEST_CLI = join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js');
const READY_WITHIN_MS = 30_000;
const EXIT_WITHIN_MS = 15_000;
const POLL_EVERY_MS = 100;
/** A failure message shows the end of what the process wrote, not all of it. */
const OUTPUT_KEPT = 20_000;

/** The last change to anything the build compiles. */
function newestChangeUnder(folder: string): number {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((newest, entry) => Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs), 0);
}

let building: Promise<void> | undefined;

/**
 * Builds dist/ (`nest build`, as `npm run build` does) when it is missing or older than
 * src/: CI builds before the tests, a fresh clone running `npm test` may not have. Once
 * per test file.
 */
export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    if (existsSync(SERVER) && statSync(SERVER).mtimeMs >= newestChangeUnder(join(ROOT, 'src'))) return;
    await runNode([NEST_CLI, 'build'], { cwd: ROOT, env: process.env });
  })();
  return building;
}

/** A child's output as it comes, keeping only the end. */
function captureOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output;
}

/**
 * The children see only the environment given (plus PATH), and run outside the checkout,
 * so a developer's `.env` (which the server and CLI read from their working directory)
 * cannot change what a test configured.
 */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...NO_MFA_REQUIRED_ROLES, ...env };
}

async function runNode(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: 'pipe' });
  const output = captureOutput(child);
  child.stdin.end(options.input ?? '');
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`node ${args.join(' ')} failed (${code ?? signal}):\n${output()}`);
  return output();
}

/**
 * A one-off job of the built app, as docker-compose's `migrate` service runs one:
 * `runOnce('dist/db/run-migrations.js')`, or a CLI command with its stdin. Resolves with
 * its output; rejects, with that output, unless it exits 0.
 */
export async function runOnce(
  script: string,
  args: string[],
  options: { env: Record<string, string>; input?: string },
): Promise<string> {
  await ensureBuilt();
  return runNode([join(ROOT, script), ...args], { cwd: tmpdir(), env: childEnv(options.env), input: options.input });
}

/**
 * The built server (`node dist/main.js`) as a process of its own, as in production: one
 * instance of a deployment, on a port of its own on loopback.
 */
export class ServerProcess {
  private readonly exited: Promise<unknown>;
  private readonly output: () => string;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = once(child, 'exit');
    this.output = captureOutput(child);
  }

  /**
   * Starts the server with `env` (PORT aside; EMAIL_VERIFICATION `none` unless given) and
   * resolves once /health/ready answers 200. `nodeArgs` go before the script, as `--import`
   * for dist/otel.js does; `port` is a free one unless given.
   */
  static async start(
    name: string,
    env: Record<string, string>,
    nodeArgs: string[] = [],
    port?: number,
  ): Promise<ServerProcess> {
    await ensureBuilt();
    port ??= await freePort();
    const child = spawn(process.execPath, [...nodeArgs, SERVER], {
      cwd: tmpdir(),
      // As startTestApp: users sign up without mail unless a test asks for verification.
      env: childEnv({ EMAIL_VERIFICATION: 'none', ...env, PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(name, port, child);
    try {
      await server.untilReady();
    } catch (error) {
      await server.kill();
      throw error;
    }
    return server;
  }

  /** The end of what the process wrote (its log lines). */
  get log(): string {
    return this.output();
  }

  /** The process started: with WEB_CONCURRENCY above 1, the primary of the workers. */
  get pid(): number {
    return this.child.pid!;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private async untilReady(): Promise<void> {
    const deadline = Date.now() + READY_WITHIN_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready:\n${this.output()}`);
      const res = await fetch(`${this.origin}/health/ready`).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.status === 200) return;
      await sleep(POLL_EVERY_MS);
    }
    throw new Error(`${this.name} was not ready within ${READY_WITHIN_MS} ms:\n${this.output()}`);
  }

  /**
   * SIGTERM, as an orchestrator stops an instance, and waits for the exit; rejects unless
   * the server shut down cleanly (exit 0) within EXIT_WITHIN_MS.
   */
  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_WITHIN_MS);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.child.exitCode !== 0) {
      const status = this.child.exitCode ?? this.child.signalCode;
      throw new Error(`${this.name} did not shut down cleanly (${status}):\n${this.output()}`);
    }
  }

  private async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

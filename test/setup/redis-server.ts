import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

const READY_WITHIN_MS = 10_000;

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port for redis-server');
  return address.port;
}

/**
 * A redis-server of a test's own, without persistence, that the test may kill and start
 * again on the same port (as Redis restarting after a crash, its data gone).
 */
export class ThrowawayRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort());
    await redis.start();
    return redis;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on this port; resolves once it accepts connections. */
  async start(): Promise<void> {
    if (this.process) throw new Error(`redis-server on port ${this.port} is already running`);
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server not ready in ${READY_WITHIN_MS} ms:\n${output}`)),
        READY_WITHIN_MS,
      );
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) settle();
      });
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('error', settle);
      child.once('exit', (code, signal) => settle(new Error(`redis-server exited (${code ?? signal}):\n${output}`)));
    });
    try {
      await ready;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops redis-server answering (SIGSTOP): its connections stay open, as with a hung server or a partition. */
  freeze(): void {
    this.signal('SIGSTOP');
  }

  /** Lets a frozen redis-server answer again. */
  thaw(): void {
    this.signal('SIGCONT');
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.process?.kill(signal)) throw new Error(`redis-server on port ${this.port} is not running`);
  }

  /** Kills redis-server outright, as a crash would, and waits until the process is gone. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

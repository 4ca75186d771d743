import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertPayload } from '../../src/modules/audit/alerts/alert-webhook.js';

/** A webhook receiver on 127.0.0.1: records every call and answers with the next scripted status (then 200). */
export class Receiver {
  readonly calls: AlertPayload[] = [];
  /** Statuses for the next calls, in order; 'hang' never answers. */
  script: (number | 'hang')[] = [];
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  private constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        this.calls.push(JSON.parse(text) as AlertPayload);
        for (const wake of this.waiters.splice(0)) wake();
        const status = this.script.shift() ?? 200;
        if (status !== 'hang') res.writeHead(status).end();
      });
    });
  }

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/alerts`;
  }

  callsFor(detector: string, subject?: string): AlertPayload[] {
    return this.calls.filter(
      (call) => call.detector === detector && (subject === undefined || call.subject === subject),
    );
  }

  /** Resolves once `count` calls for `detector` (and `subject`) arrived; fails after `ms`. */
  async waitFor(detector: string, count: number, subject?: string, ms = 10_000): Promise<AlertPayload[]> {
    const deadline = Date.now() + ms;
    while (this.callsFor(detector, subject).length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `expected ${count} webhook calls for ${detector}, got ${this.callsFor(detector, subject).length}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.callsFor(detector, subject);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

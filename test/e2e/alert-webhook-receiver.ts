import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One delivery as the receiver got it, after its signature verified. */
export interface Delivery {
  id: string;
  timestamp: string;
  type: string;
  data: Record<string, unknown>;
  /** What the receiver answered. */
  answered: number | 'hang';
  /** The Authorization header, if any. */
  authorization: string | undefined;
}

/** The data of a `security.alert` event. */
export interface AlertData {
  detector: string;
  subject: string;
  count: number;
  windowSeconds: number;
  at: string;
}

/**
 * A Standard Webhooks receiver on 127.0.0.1. Every request is verified with the
 * `standardwebhooks` package (the specification's reference implementation) against the
 * receiver's own secret; one that fails goes to `forged` and gets 401. Verified ones are
 * recorded and answered with the next scripted status (then 200).
 */
export class Receiver {
  readonly secret = `whsec_${randomBytes(32).toString('base64')}`;
  readonly deliveries: Delivery[] = [];
  /** Requests whose signature did not verify, with the reason. */
  readonly forged: string[] = [];
  /** Statuses for the next deliveries, in order; 'hang' never answers. */
  script: (number | 'hang')[] = [];
  private readonly server: Server;
  private readonly verifier = new Webhook(this.secret);
  private waiters: (() => void)[] = [];

  private constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        let payload: { type: string; data: Record<string, unknown> };
        try {
          payload = this.verifier.verify(text, req.headers as Record<string, string>) as typeof payload;
        } catch (error) {
          this.forged.push((error as Error).message);
          res.writeHead(401).end();
          return;
        }
        const answered = this.script.shift() ?? 200;
        this.deliveries.push({
          id: req.headers['webhook-id'] as string,
          timestamp: req.headers['webhook-timestamp'] as string,
          type: payload.type,
          data: payload.data,
          answered,
          authorization: req.headers.authorization,
        });
        for (const wake of this.waiters.splice(0)) wake();
        if (answered !== 'hang') res.writeHead(answered).end();
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

  /** What the app needs to deliver here. */
  get env(): { ALERT_WEBHOOK_URL: string; ALERT_WEBHOOK_SECRET: string } {
    return { ALERT_WEBHOOK_URL: this.url, ALERT_WEBHOOK_SECRET: this.secret };
  }

  ofType(type: string): Delivery[] {
    return this.deliveries.filter((delivery) => delivery.type === type);
  }

  /** Alerts of `detector` (and `subject`), one entry per delivery attempt received. */
  callsFor(detector: string, subject?: string): AlertData[] {
    return this.ofType('security.alert')
      .map((delivery) => delivery.data as unknown as AlertData)
      .filter((alert) => alert.detector === detector && (subject === undefined || alert.subject === subject));
  }

  /** Resolves once `done()` holds; fails after `ms`. */
  async until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`webhook receiver: still waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once `count` calls for `detector` (and `subject`) arrived; fails after `ms`. */
  async waitFor(detector: string, count: number, subject?: string, ms = 10_000): Promise<AlertData[]> {
    await this.until(() => this.callsFor(detector, subject).length >= count, `${count} ${detector} alerts`, ms);
    return this.callsFor(detector, subject);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

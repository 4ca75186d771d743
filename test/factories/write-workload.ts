import { setTimeout as sleep } from 'node:timers/promises';
import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';

/** How long a writer pauses after a refusal, as a client told to retry later would. */
const BACK_OFF_MS = 50;

export interface WriteAnswer {
  /** 0: no answer within the writer's patience. */
  status: number;
  startedAt: number;
  endedAt: number;
  requestId: string;
  /** The id of the resource a 201 created. */
  id: string | undefined;
  res: Response | undefined;
}

/**
 * Writers that create resources back to back with one access token, recording every
 * answer until stopped; a test waits on the answers with `until`.
 */
export class WriteWorkload {
  readonly answers: WriteAnswer[] = [];
  private running = true;
  private readonly waiting = new Set<() => void>();
  private readonly writers: Promise<void>[];

  constructor(
    private readonly http: TestAgent,
    private readonly accessToken: string,
    options: { writers: number; patienceMs: number },
  ) {
    this.writers = Array.from({ length: options.writers }, (_, writer) => this.write(writer, options.patienceMs));
  }

  /** Resolves once `condition` holds of the answers so far; fails after `withinMs`. */
  until(condition: (answers: WriteAnswer[]) => boolean, what: string, withinMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(check);
        reject(new Error(`still waiting for ${what} after ${withinMs} ms`));
      }, withinMs);
      const check = () => {
        if (!condition(this.answers)) return;
        clearTimeout(timer);
        this.waiting.delete(check);
        resolve();
      };
      this.waiting.add(check);
      check();
    });
  }

  /** Lets every writer finish the request it has in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.writers);
  }

  private async write(writer: number, patienceMs: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const startedAt = performance.now();
      const res = await this.http
        .post('/api/v1/resources')
        .set('Authorization', `Bearer ${this.accessToken}`)
        .send({ name: `writer ${writer} #${n}`, visibility: 'private' })
        .timeout(patienceMs)
        .catch(() => undefined);
      const status = res?.status ?? 0;
      this.answers.push({
        status,
        startedAt,
        endedAt: performance.now(),
        requestId: String(res?.headers['x-request-id'] ?? ''),
        id: res?.status === 201 ? (res.body as { id: string }).id : undefined,
        res,
      });
      for (const check of this.waiting) check();
      if (status !== 201) await sleep(BACK_OFF_MS);
    }
  }
}

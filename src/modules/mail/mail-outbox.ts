import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { currentRequest } from '../../common/http/request-context.js';
import { CounterStore } from '../../common/redis/counter-store.js';
import { AppConfig } from '../../config/app-config.js';
import { MailMetrics } from './mail-metrics.js';
import type { MailTemplate, MailTemplateValues } from './mail-templates.js';
import { OutboxMail } from './outbox-mail.entity.js';

/** A mail to queue: the template, its one recipient and the values it renders. */
export interface QueuedMail<K extends MailTemplate = MailTemplate> {
  template: K;
  to: string;
  values: MailTemplateValues[K];
}

/**
 * Work a request leaves to the worker, so that the request itself does the same thing
 * whatever the answer (an unknown email and a known one cost the same): the worker calls
 * the preparer registered for the intent, in a transaction, and sends what it returns, or
 * nothing when it returns null.
 */
export type MailPreparer = (manager: EntityManager, values: Record<string, string>) => Promise<QueuedMail | null>;

const INTENT_PREFIX = 'intent:';

export function isIntent(template: string): boolean {
  return template.startsWith(INTENT_PREFIX);
}

/**
 * The way into the outbox: mail is written with the caller's EntityManager, so it is
 * queued if and only if the change that causes it commits. Delivery is the OutboxWorker's.
 */
@Injectable()
export class MailOutbox {
  private readonly preparers = new Map<string, MailPreparer>();
  private readonly wakeListeners: (() => void)[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly counters: CounterStore,
    private readonly metrics: MailMetrics,
  ) {}

  /** Queues one mail in the caller's transaction; call `wake()` once it committed. */
  async enqueue<K extends MailTemplate>(manager: EntityManager, mail: QueuedMail<K>): Promise<void> {
    await manager.insert(OutboxMail, {
      template: mail.template,
      recipient: mail.to,
      values: mail.values as Record<string, string>,
    });
    this.metrics.queued.inc({ template: mail.template });
  }

  /**
   * Queues one mail in a transaction of its own and wakes the worker: for notices of a
   * change that another module already committed (awaited, so the request that made the
   * change answers only once its notice is stored).
   */
  async enqueueNow<K extends MailTemplate>(mail: QueuedMail<K>): Promise<void> {
    await this.dataSource.transaction((manager) => this.enqueue(manager, mail));
    this.wake();
  }

  /** Queues an intent (see MailPreparer) in the caller's transaction. */
  async enqueueIntent(manager: EntityManager, intent: string, values: Record<string, string>): Promise<void> {
    if (!this.preparers.has(intent)) throw new Error(`no preparer for mail intent ${intent}`);
    // Counted as queued once the worker turns it into a mail, if it does.
    await manager.insert(OutboxMail, { template: `${INTENT_PREFIX}${intent}`, recipient: null, values });
  }

  /**
   * Counts one mail to `email` against RATE_LIMIT_MAIL (shared by every instance through
   * Redis); false past it. Counted whether or not the address has an account.
   */
  async mayMail(email: string): Promise<boolean> {
    const { limit, windowSeconds } = this.config.mail.perRecipient;
    const { count } = await this.counters.hit(`mail:recipient:${email}`, windowSeconds);
    if (count <= limit) return true;
    this.metrics.throttled.inc();
    return false;
  }

  /** Registers what turns `intent` into a mail; one preparer per intent. */
  handleIntent(intent: string, preparer: MailPreparer): void {
    if (this.preparers.has(intent)) throw new Error(`mail intent ${intent} already has a preparer`);
    this.preparers.set(intent, preparer);
  }

  preparerOf(template: string): MailPreparer | undefined {
    return this.preparers.get(template.slice(INTENT_PREFIX.length));
  }

  /**
   * Tells this instance's worker that mail was committed, so it goes now rather than at the
   * next poll. During a request, "now" is once its answer has been handed over: the mail
   * work (looking up the address, minting a token, SMTP) never shares the time of the
   * answer, which therefore tells nothing about what the worker will find.
   */
  wake(): void {
    const wakeAll = () => {
      for (const listener of this.wakeListeners) listener();
    };
    const res = currentRequest()?.res;
    if (res && !res.writableFinished) res.once('finish', wakeAll);
    else wakeAll();
  }

  onWake(listener: () => void): void {
    this.wakeListeners.push(listener);
  }
}

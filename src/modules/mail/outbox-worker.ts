import { randomUUID } from 'node:crypto';
import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource, In } from 'typeorm';
import { AppConfig } from '../../config/app-config.js';
import { UnsafeRecipientError } from './mail-address.js';
import { MailMetrics } from './mail-metrics.js';
import { isIntent, MailOutbox, type QueuedMail } from './mail-outbox.js';
import { isMailTemplate, renderMail, type MailTemplateValues } from './mail-templates.js';
import { Mailer, SEND_TIMEOUT_MS } from './mailer.js';
import { OutboxMail } from './outbox-mail.entity.js';

/** Another instance may take a claimed mail over only after this: longer than any send may take. */
const LEASE_MS = 4 * SEND_TIMEOUT_MS;
/** Mail of other instances (and of this one's earlier life) is looked for this often. */
const POLL_MS = 5_000;
const BATCH = 10;
/** Attempt n waits 2^(n-1) s (±20%), at most 15 min: about 50 minutes in all, then the mail fails. */
const MAX_ATTEMPTS = 12;
const MAX_BACKOFF_MS = 15 * 60_000;
/** Sent and failed mail stays this long (for support questions), then goes. */
const KEEP_DONE_MS = 7 * 86_400_000;

class LeaseLostError extends Error {}

/** Errors that sending again cannot fix. */
class PermanentMailError extends Error {}

/**
 * Delivers the outbox. Rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so any
 * number of instances share the work and each mail is sent once: a row leased to one
 * instance is skipped by the others until its lease ends (a crashed sender), and a sender
 * whose lease ran out cannot mark it sent. A failed send is retried with exponential
 * backoff; the last failure is kept in the row and counted (mail_failed_total).
 */
@Injectable()
export class OutboxWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running: Promise<void> | undefined;
  private again = false;
  private stopping = false;
  private poll: NodeJS.Timeout | undefined;
  private readonly retries = new Set<NodeJS.Timeout>();
  private lastPurge = 0;
  private failingSince = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: MailOutbox,
    private readonly mailer: Mailer,
    private readonly config: AppConfig,
    private readonly metrics: MailMetrics,
    @InjectPinoLogger(OutboxWorker.name) private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.outbox.onWake(() => this.kick());
    this.poll = setInterval(() => this.kick(), POLL_MS);
    this.poll.unref();
    this.kick();
  }

  /**
   * Lets the delivery under way finish, for SHUTDOWN_GRACE at most (at least a second): a
   * mail still leased when the process ends is taken over by another instance, or by this
   * one after a restart, once its lease runs out.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.poll);
    for (const timer of this.retries) clearTimeout(timer);
    const graceMs = Math.max(1000, this.config.app.shutdownGraceSeconds * 1000);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.mailer.close();
  }

  /** Runs the delivery loop, or asks the running one for another round. */
  private kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.logOutage(error))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.kick();
      });
  }

  private async drain(): Promise<void> {
    let claimed: OutboxMail[];
    do {
      this.again = false;
      claimed = await this.claim();
      if (this.failingSince !== 0) this.logger.info('the outbox answers again');
      this.failingSince = 0;
      for (const mail of claimed) await this.deliver(mail);
    } while (!this.stopping && (this.again || claimed.length === BATCH));
    await this.purgeDone();
  }

  /** Up to BATCH due rows, leased to this instance; rows another instance holds are skipped. */
  private claim(): Promise<OutboxMail[]> {
    return this.dataSource.transaction(async (manager) => {
      const due = await manager
        .createQueryBuilder(OutboxMail, 'm')
        .select('m.id')
        .where('m.sent_at IS NULL AND m.failed_at IS NULL AND m.next_attempt_at <= now()')
        .andWhere('(m.lease_until IS NULL OR m.lease_until < now())')
        .orderBy('m.next_attempt_at')
        .limit(BATCH)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      if (due.length === 0) return [];
      const leaseId = randomUUID();
      await manager
        .createQueryBuilder()
        .update(OutboxMail)
        .set({
          leaseId,
          leaseUntil: () => `now() + interval '${LEASE_MS} milliseconds'`,
          attempts: () => 'attempts + 1',
        })
        .where({ id: In(due.map(({ id }) => id)) })
        .execute();
      return manager.findBy(OutboxMail, { id: In(due.map(({ id }) => id)), leaseId });
    });
  }

  private async deliver(row: OutboxMail): Promise<void> {
    try {
      const mail = isIntent(row.template) ? await this.resolve(row) : this.queued(row);
      if (!mail) return;
      const rendered = renderMail(mail.template, mail.values as MailTemplateValues[typeof mail.template], {
        publicUrl: this.config.app.publicUrl,
      });
      await this.mailer.send({ to: mail.to, ...rendered });
      const { affected } = await this.dataSource
        .createQueryBuilder()
        .update(OutboxMail)
        .set({ sentAt: () => 'now()', values: {}, leaseId: null, leaseUntil: null, lastError: null })
        .where({ id: row.id, leaseId: row.leaseId })
        .execute();
      if (affected === 0) this.logger.warn({ mailId: row.id }, 'a mail was sent after its lease ran out');
      this.metrics.sent.inc({ template: mail.template });
    } catch (error) {
      if (error instanceof LeaseLostError) return;
      await this.failed(row, error);
    }
  }

  private queued(row: OutboxMail): QueuedMail {
    if (!isMailTemplate(row.template)) throw new PermanentMailError(`unknown mail template ${row.template}`);
    if (row.recipient === null) throw new PermanentMailError('a mail without a recipient');
    // The values were stored from a QueuedMail of this template (MailOutbox.enqueue).
    const values = row.values as MailTemplateValues[typeof row.template];
    return { template: row.template, to: row.recipient, values };
  }

  /** Turns an intent into its mail (or nothing), in one transaction with the rewrite of its row. */
  private resolve(row: OutboxMail): Promise<QueuedMail | null> {
    const prepare = this.outbox.preparerOf(row.template);
    if (!prepare) throw new PermanentMailError(`no preparer for ${row.template}`);
    return this.dataSource.transaction(async (manager) => {
      const mail = await prepare(manager, row.values);
      const mine = { id: row.id, leaseId: row.leaseId };
      const { affected } = mail
        ? await manager
            .createQueryBuilder()
            .update(OutboxMail)
            .set({ template: mail.template, recipient: mail.to, values: mail.values as Record<string, string> })
            .where(mine)
            .execute()
        : await manager.createQueryBuilder().delete().from(OutboxMail).where(mine).execute();
      if (affected === 0) throw new LeaseLostError();
      if (mail) this.metrics.queued.inc({ template: mail.template });
      return mail;
    });
  }

  private async failed(row: OutboxMail, error: unknown): Promise<void> {
    const permanent = error instanceof PermanentMailError || error instanceof UnsafeRecipientError;
    const last = permanent || row.attempts >= MAX_ATTEMPTS;
    const delayMs = Math.round(Math.min(2 ** (row.attempts - 1) * 1000, MAX_BACKOFF_MS) * (0.8 + Math.random() * 0.4));
    const message = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);
    try {
      await this.dataSource
        .createQueryBuilder()
        .update(OutboxMail)
        .set({
          leaseId: null,
          leaseUntil: null,
          lastError: message,
          nextAttemptAt: () => `now() + interval '${delayMs} milliseconds'`,
          // Given up on: its values (links with tokens among them) are erased, as a sent mail's are.
          ...(last ? { failedAt: () => 'now()', values: {} } : {}),
        })
        .where({ id: row.id, leaseId: row.leaseId })
        .execute();
    } catch (updateError) {
      // The lease runs out and the mail is tried again: nothing is lost.
      this.logOutage(updateError);
    }
    if (last) {
      this.metrics.failed.inc({ template: row.template });
      this.logger.error(
        { mailId: row.id, template: row.template, attempts: row.attempts, error: message },
        'mail failed for good',
      );
      return;
    }
    this.metrics.retried.inc({ template: row.template });
    this.logger.warn(
      { mailId: row.id, template: row.template, attempts: row.attempts, error: message, retryInMs: delayMs },
      'mail not sent; will retry',
    );
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.kick();
    }, delayMs + 50);
    timer.unref();
    this.retries.add(timer);
  }

  /** Done mail older than KEEP_DONE_MS goes, at most once per poll interval: the outbox stays bounded. */
  private async purgeDone(): Promise<void> {
    if (Date.now() - this.lastPurge < POLL_MS * 12) return;
    this.lastPurge = Date.now();
    await this.dataSource
      .createQueryBuilder()
      .delete()
      .from(OutboxMail)
      .where(
        `(sent_at IS NOT NULL OR failed_at IS NOT NULL) AND created_at < now() - interval '${KEEP_DONE_MS} milliseconds'`,
      )
      .execute();
  }

  /** One line when the database stops answering the worker, not one per poll. */
  private logOutage(error: unknown): void {
    if (this.failingSince !== 0) return;
    this.failingSince = Date.now();
    this.logger.error({ err: error }, 'the outbox could not be read; mail waits until it can');
  }
}

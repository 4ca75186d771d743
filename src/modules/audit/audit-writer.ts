import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import type { AuditAction } from '../../common/audit/audit-actions.js';
import { isRefusedData } from '../../common/errors/db-errors.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChainedContent } from './audit-chain.js';
import { chainHash, GENESIS_HASH } from './audit-chain.js';
import { AuditMetrics } from './audit-metrics.js';
import { RefusalTally } from './refusal-tally.js';

const FLUSH_INTERVAL_MS = 500;
const FLUSH_BATCH = 200;
/** Security events waiting for room at once; past it they are shed (and counted) too. */
const MAX_WAITERS = 1_000;
/** How long a security event (and so its request) waits for room before it is shed and counted. */
const MAX_WAIT_MS = 2_000;
/** The event that accounts, in the chain, for events the writer could not hold. */
export const NOT_RECORDED_ACTION: AuditAction = 'audit.events-not-recorded';
/** Distinct actions counted in one marker (actions are the code's own; this is a guard). */
const MAX_SHED_ACTIONS = 200;
const DRAIN_RETRY_MIN_MS = 100;
const DRAIN_RETRY_MAX_MS = 2_000;
/** Each column with its type; a bytea travels as hex text inside the batch's JSON. */
const INSERT_COLUMNS = [
  ['id', 'uuid'],
  ['at', 'timestamptz'],
  ['request_id', 'varchar'],
  ['actor_id', 'uuid'],
  ['auth_method', 'varchar'],
  ['credential_id', 'varchar'],
  ['action', 'varchar'],
  ['target', 'varchar'],
  ['outcome', 'varchar'],
  ['ip', 'varchar'],
  ['user_agent', 'varchar'],
  ['status', 'int4'],
  ['latency_ms', 'int4'],
  ['details', 'jsonb'],
  ['prev_hash', 'bytea'],
  ['hash', 'bytea'],
] as const;
/**
 * A whole batch in one statement of constant text and one parameter: the rows as one JSON
 * array (`BatchRow`), made by a single JSON.stringify. The driver's per-value encoding of
 * one array per column (escaping every element, formatting every date) cost more than the
 * rest of the flush in Node; a multi-row VALUES list with a parameter per field cost twice
 * that again, in Node and in Postgres, and its text (and plan) differed with every batch
 * size. Written by hand: TypeORM's insert builder costs more per row than the rest of the
 * flush together. The function scan yields the rows in the array's order, so `seq` follows
 * the chain's.
 */
const INSERT_BATCH = `INSERT INTO audit_events (${INSERT_COLUMNS.map(([name]) => name).join(', ')})
  SELECT ${INSERT_COLUMNS.map(([name, type]) => (type === 'bytea' ? `decode(${name}, 'hex')` : name)).join(', ')}
  FROM jsonb_to_recordset($1::jsonb)
  AS batch(${INSERT_COLUMNS.map(([name, type]) => `${name} ${type === 'bytea' ? 'text' : type}`).join(', ')})`;

/** One row of INSERT_BATCH's JSON, by column name. */
type BatchRow = Record<(typeof INSERT_COLUMNS)[number][0], unknown>;
// One writer at a time across every instance, so the chain never forks.
const AUDIT_CHAIN_LOCK = 7_241_992;

export type PendingEvent = Omit<ChainedContent, 'id'> & { security: boolean };

/** Told of every batch once it is committed, in chain order (the OCSF stream listens). */
export type WrittenListener = (events: readonly ChainedContent[]) => void;

/**
 * Buffers audit events off the request path and writes them in batches (one multi-row
 * insert per flush, chained under an advisory lock). The buffer is bounded
 * (AUDIT_BUFFER_CAPACITY) and sheds nothing silently: when full, routine events are not
 * held but counted, and security events wait for room (MAX_WAIT_MS at most, MAX_WAITERS at
 * once; past either they are counted too). What was counted is written into the chain as
 * one `audit.events-not-recorded` marker, in a transaction of its own as soon as there is
 * room: how many events of each action, when, and the seq of the row before it (the events
 * fall between that seq and the marker's). Repeated refusals are aggregated first (see
 * RefusalTally), so a flood of them does not fill the buffer. An event
 * the database refuses for its content is dropped (logged and counted) rather than retried
 * forever in front of the others. On shutdown the buffer drains before the database
 * closes; if the database is away, for SHUTDOWN_GRACE at most. A crash loses at most the
 * events of the last flush interval.
 */
@Injectable()
export class AuditWriter implements OnModuleInit, BeforeApplicationShutdown {
  private buffer: PendingEvent[] = [];
  private flushing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];
  /** Events still to write one at a time, after the database refused a batch for its content. */
  private isolating = 0;
  private readonly writtenListeners: WrittenListener[] = [];
  private readonly tally = new RefusalTally();
  private readonly capacity: number;
  /** Events not held since the last marker, by action; empty when nothing was shed. */
  private shed = new Map<string, number>();
  private shedSince: Date | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly metrics: AuditMetrics,
    @InjectPinoLogger(AuditWriter.name) private readonly logger: PinoLogger,
  ) {
    this.capacity = config.audit.bufferCapacity;
    metrics.measureDepth(() => this.buffer.length);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.tally.closeDue((aggregate) => void this.enqueue(aggregate));
      this.accountForShed();
      void this.flush();
    }, FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.drain(Date.now() + this.config.app.shutdownGraceSeconds * 1000);
  }

  onWritten(listener: WrittenListener): void {
    this.writtenListeners.push(listener);
  }

  async enqueue(event: PendingEvent): Promise<void> {
    if (this.tally.absorb(event, (aggregate) => void this.enqueue(aggregate))) return;
    const deadline = Date.now() + MAX_WAIT_MS;
    while (this.buffer.length >= this.capacity) {
      if (!event.security || this.waiters.length >= MAX_WAITERS || !(await this.roomBefore(deadline))) {
        this.countShed(event);
        return;
      }
    }
    this.accountForShed();
    this.buffer.push(event);
    if (this.buffer.length >= FLUSH_BATCH) void this.flush();
  }

  /** Waits for a flush to make room; false when `deadline` passes first. */
  private async roomBefore(deadline: number): Promise<boolean> {
    this.metrics.waits.inc();
    void this.flush();
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const woken = await Promise.race([
      new Promise<true>((resolve) => {
        wake = () => resolve(true);
        this.waiters.push(wake);
      }),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (!woken) this.waiters = this.waiters.filter((waiter) => waiter !== wake);
    return woken;
  }

  private countShed(event: PendingEvent): void {
    this.metrics.dropped.inc();
    this.shedSince ??= event.at;
    const action = this.shed.has(event.action) || this.shed.size < MAX_SHED_ACTIONS ? event.action : 'other';
    this.shed.set(action, (this.shed.get(action) ?? 0) + 1);
  }

  /**
   * Puts the marker for what was shed since the last one into the buffer, once there is room
   * (before the next event held, or at the next tick), or when draining (`force`: one slot
   * past the bound, the account itself is never shed).
   */
  private accountForShed(force = false): void {
    if (this.shed.size > 0 && (force || this.buffer.length < this.capacity)) this.buffer.push(this.notRecordedMarker());
  }

  /** The marker for what was shed since the last one; `afterSeq` is filled in when it is written. */
  private notRecordedMarker(): PendingEvent {
    const counts = Object.fromEntries(this.shed);
    const total = [...this.shed.values()].reduce((sum, count) => sum + count, 0);
    const marker: PendingEvent = {
      at: new Date(),
      requestId: null,
      actorId: null,
      authMethod: null,
      credentialId: null,
      action: NOT_RECORDED_ACTION,
      target: null,
      outcome: 'failure',
      ip: null,
      userAgent: null,
      status: null,
      latencyMs: null,
      details: { total, byAction: counts, from: this.shedSince?.toISOString(), to: new Date().toISOString() },
      security: true,
    };
    this.shed = new Map();
    this.shedSince = undefined;
    return marker;
  }

  /**
   * Writes everything buffered so far (tests and shutdown wait on it). While the database
   * refuses, tries again after a growing pause; past `giveUpAt` (shutdown cannot wait for
   * ever for a database that is away) it logs what is lost and returns.
   */
  async drain(giveUpAt = Number.POSITIVE_INFINITY): Promise<void> {
    this.tally.closeDue((aggregate) => void this.enqueue(aggregate), Number.POSITIVE_INFINITY);
    this.accountForShed(true);
    let pause = DRAIN_RETRY_MIN_MS;
    while (this.buffer.length > 0 || this.flushing) {
      if (await this.flush()) {
        pause = DRAIN_RETRY_MIN_MS;
        continue;
      }
      if (Date.now() + pause > giveUpAt) {
        this.logger.error(
          { events: this.buffer.length },
          'audit events not written: the database did not answer in time',
        );
        return;
      }
      await sleep(pause);
      pause = Math.min(pause * 2, DRAIN_RETRY_MAX_MS);
    }
  }

  /** Writes what is buffered; false when the database failed and events are still waiting. */
  flush(): Promise<boolean> {
    this.flushing ??= this.writeBatches().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /**
   * Writes what was buffered when the flush began, and then full batches only: the few events
   * that arrive during a write wait for a full batch or the next tick, instead of a
   * transaction each (under load that halves the database work per event).
   */
  private async writeBatches(): Promise<boolean> {
    let due = this.buffer.length;
    while (due > 0 && this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.isolating > 0 ? 1 : batchLength(this.buffer, Math.min(due, FLUSH_BATCH)));
      const started = performance.now();
      try {
        this.tellWritten(await this.write(batch));
      } catch (error) {
        if (!isRefusedData(error)) {
          // Kept in the buffer and tried again at the next flush: nothing acknowledged is lost.
          this.logger.error({ err: error, events: batch.length }, 'audit flush failed');
          this.metrics.flushFailures.inc();
          return false;
        }
        if (batch.length > 1) {
          // Some event of the batch can never be stored: write them one at a time to find it.
          this.isolating = batch.length;
          continue;
        }
        // Tried again it would fail forever, and hold up every event behind it (and shutdown).
        this.logger.error({ err: error, action: batch[0]?.action }, 'audit event refused by the database: dropped');
        this.metrics.refused.inc();
      }
      this.buffer = this.buffer.slice(batch.length);
      this.isolating = Math.max(0, this.isolating - batch.length);
      due = Math.max(due - batch.length, this.isolating, this.buffer.length >= FLUSH_BATCH ? FLUSH_BATCH : 0);
      this.metrics.flushSeconds.observe((performance.now() - started) / 1000);
      for (const wake of this.waiters.splice(0)) wake();
    }
    return true;
  }

  /** A listener that fails must not make a committed batch look failed (it would be written twice). */
  private tellWritten(events: ChainedContent[]): void {
    for (const listener of this.writtenListeners) {
      try {
        listener(events);
      } catch (error) {
        this.logger.error({ err: error }, 'audit written-listener failed');
      }
    }
  }

  private async write(batch: PendingEvent[]): Promise<ChainedContent[]> {
    const written: ChainedContent[] = [];
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK]);
      const [last] = (await manager.query('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')) as {
        seq: string;
        hash: Buffer;
      }[];
      let prevHash = last?.hash ?? GENESIS_HASH;
      const rows: BatchRow[] = [];
      for (const { security: _security, ...content } of batch) {
        // A marker is written alone (see batchLength), so the row before it is `last`.
        if (content.action === NOT_RECORDED_ACTION)
          content.details = { ...content.details, afterSeq: last?.seq ?? '0' };
        const event: ChainedContent = { id: randomUUID(), ...content };
        written.push(event);
        const hash = chainHash(prevHash, event);
        rows.push({
          id: event.id,
          at: event.at,
          request_id: event.requestId,
          actor_id: event.actorId,
          auth_method: event.authMethod,
          credential_id: event.credentialId,
          action: event.action,
          target: event.target,
          outcome: event.outcome,
          ip: event.ip,
          user_agent: event.userAgent,
          status: event.status,
          latency_ms: event.latencyMs,
          details: event.details,
          prev_hash: prevHash.toString('hex'),
          hash: hash.toString('hex'),
        });
        prevHash = hash;
      }
      await manager.query(INSERT_BATCH, [JSON.stringify(rows)]);
    });
    return written;
  }
}

/**
 * How many of the first `wanted` buffered events go in the next batch: a not-recorded marker
 * starts a batch of its own, so it learns the seq of the row before it under the chain's lock.
 */
function batchLength(buffer: readonly PendingEvent[], wanted: number): number {
  if (buffer[0]?.action === NOT_RECORDED_ACTION) return 1;
  const marker = buffer.findIndex((event, index) => index < wanted && event.action === NOT_RECORDED_ACTION);
  return marker > 0 ? marker : wanted;
}

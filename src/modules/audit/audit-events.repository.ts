import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { newestFirst, type Keyset } from '../../db/keyset.js';
import { chainHash } from './audit-chain.js';
import { AuditEvent } from './audit-event.entity.js';
import type { ListAuditEventsQuery } from './dto/audit.dto.js';

export interface ChainBreak {
  seq: string;
  id: string;
  reason: 'content altered' | 'link broken';
  /** For a broken link: the event before it in the table; what lay between is gone (or rewritten). */
  previousSeq?: string;
}

/** How the trail stands against a checkpoint (a signed head of the chain). */
export type CheckpointMatch =
  | { kind: 'matches' }
  /** The event the checkpoint names is gone, and the trail ends before it: its tail was cut. */
  | { kind: 'truncated'; lastSeq: string | null }
  /** The event is there with another hash: history up to it was rewritten and rehashed. */
  | { kind: 'diverged'; id: string }
  /** The event is gone from the middle of the trail. */
  | { kind: 'missing' }
  /** The checkpoint is older than the oldest event kept (retention): it can vouch for nothing. */
  | { kind: 'purged'; firstSeq: string };

@Injectable()
export class AuditEventsRepository {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  /** Newest first; `(at, id)` keyset so pages stay stable while events keep arriving. */
  list(filters: ListAuditEventsQuery, limit: number, after?: Keyset): Promise<AuditEvent[]> {
    const query = this.events.createQueryBuilder('e').where('TRUE');
    if (filters.actorId) query.andWhere('e.actor_id = :actorId', { actorId: filters.actorId });
    if (filters.action) query.andWhere('e.action = :action', { action: filters.action });
    if (filters.outcome) query.andWhere('e.outcome = :outcome', { outcome: filters.outcome });
    if (filters.from) query.andWhere('e.at >= :from', { from: filters.from });
    if (filters.to) query.andWhere('e.at < :to', { to: filters.to });
    return newestFirst(query, ['e.at', 'e.id'], limit, after).getMany();
  }

  /**
   * Walks the chain in write order, a page at a time, and names the first event whose
   * stored hash does not match its content, or whose link to the previous event is cut.
   */
  async verifyChain(pageSize = 1_000): Promise<{ checked: number; firstBreak: ChainBreak | undefined }> {
    let checked = 0;
    let previous: AuditEvent | undefined;
    for (;;) {
      const query = this.events.createQueryBuilder('e').orderBy('e.seq', 'ASC').limit(pageSize);
      if (previous) query.where('e.seq > :seq', { seq: previous.seq });
      const page = await query.getMany();
      for (const event of page) {
        if (previous && !event.prevHash.equals(previous.hash)) {
          return {
            checked,
            firstBreak: { seq: event.seq, id: event.id, reason: 'link broken', previousSeq: previous.seq },
          };
        }
        const { seq: _seq, prevHash, hash, ...content } = event;
        if (!chainHash(prevHash, content).equals(hash)) {
          return { checked, firstBreak: { seq: event.seq, id: event.id, reason: 'content altered' } };
        }
        checked += 1;
        previous = event;
      }
      if (page.length < pageSize) return { checked, firstBreak: undefined };
    }
  }

  /** Compares the trail with a checkpoint's head: the event at its seq must be there, with its hash. */
  async compareWithCheckpoint(head: { seq: string; hash: Buffer }): Promise<CheckpointMatch> {
    const [event] = await this.events.find({ where: { seq: head.seq }, select: { seq: true, id: true, hash: true } });
    if (event) return event.hash.equals(head.hash) ? { kind: 'matches' } : { kind: 'diverged', id: event.id };
    const [bounds] = (await this.events.query(
      `SELECT min(seq)::text AS first, max(seq)::text AS last FROM audit_events`,
    )) as { first: string | null; last: string | null }[];
    const last = bounds?.last ?? null;
    if (last === null || BigInt(last) < BigInt(head.seq)) return { kind: 'truncated', lastSeq: last };
    if (bounds?.first && BigInt(bounds.first) > BigInt(head.seq)) return { kind: 'purged', firstSeq: bounds.first };
    return { kind: 'missing' };
  }

  /** The newest checkpoint kept in the database, as its JWS. */
  async newestCheckpointJws(): Promise<string | undefined> {
    const [row] = (await this.events.query(`SELECT jws FROM audit_checkpoints ORDER BY id DESC LIMIT 1`)) as {
      jws: string;
    }[];
    return row?.jws;
  }

  async purgeBefore(cutoff: Date): Promise<number> {
    const [row] = (await this.events.query('SELECT audit_events_purge_before($1) AS removed', [cutoff])) as {
      removed: string;
    }[];
    return Number(row?.removed ?? 0);
  }
}

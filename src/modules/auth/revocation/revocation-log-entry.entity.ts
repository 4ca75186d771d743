import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { RevocationEvent } from './revocation-event.js';

/**
 * Every revocation, in the order it was committed: the durable half of the broadcast. An
 * instance that missed a Redis message (an outage, a lost message, a fresh start) replays
 * what it has not seen from here, so no revoked credential outlives a lost message.
 */
@Entity({ name: 'revocation_log' })
export class RevocationLogEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq: string;

  @Index('revocation_log_at')
  @Column({ type: 'timestamptz', default: () => 'clock_timestamp()' })
  at: Date;

  @Column({ type: 'jsonb' })
  event: RevocationEvent;
}

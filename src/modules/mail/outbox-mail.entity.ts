import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One mail on its way out (the transactional outbox): written in the transaction of the
 * change that causes it, delivered by the OutboxWorker of whichever instance claims it.
 * Its values (links with tokens among them) are erased once it is sent or given up on.
 */
@Entity({ name: 'mail_outbox' })
@Index('mail_outbox_created_at', ['createdAt'])
export class OutboxMail {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** A MailTemplate, or an intent (`intent:...`) the worker turns into one. */
  @Column({ type: 'varchar', length: 64 })
  template: string;

  /** Null for an intent until the worker resolves it. */
  @Column({ type: 'varchar', length: 254, nullable: true })
  recipient: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  values: Record<string, string>;

  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Index('mail_outbox_due', { where: 'sent_at IS NULL AND failed_at IS NULL' })
  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'lease_id', type: 'uuid', nullable: true })
  leaseId: string | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil: Date | null;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true })
  failedAt: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}

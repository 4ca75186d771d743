import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** One row of the append-only, hash-chained audit trail. */
@Entity({ name: 'audit_events' })
@Unique('audit_events_id_key', ['id'])
@Check('audit_events_outcome_known', `outcome IN ('success', 'failure', 'denied')`)
@Index('audit_events_at', ['at', 'id'])
@Index('audit_events_actor', ['actorId', 'at'])
@Index('audit_events_action', ['action', 'at'])
export class AuditEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  seq: string;

  /** Chosen by the writer before hashing, since the hash covers it. */
  @Column({ type: 'uuid' })
  id: string;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ name: 'request_id', type: 'varchar', length: 128, nullable: true })
  requestId: string | null;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'auth_method', type: 'varchar', length: 16, nullable: true })
  authMethod: string | null;

  @Column({ name: 'credential_id', type: 'varchar', length: 64, nullable: true })
  credentialId: string | null;

  @Column({ type: 'varchar', length: 100 })
  action: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  target: string | null;

  @Column({ type: 'varchar', length: 10 })
  outcome: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'varchar', length: 300, nullable: true })
  userAgent: string | null;

  @Column({ type: 'integer', nullable: true })
  status: number | null;

  @Column({ name: 'latency_ms', type: 'integer', nullable: true })
  latencyMs: number | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  details: Record<string, unknown>;

  @Column({ name: 'prev_hash', type: 'bytea' })
  prevHash: Buffer;

  @Column({ type: 'bytea' })
  hash: Buffer;
}

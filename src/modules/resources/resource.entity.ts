import { Check, Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { User } from '../users/user.entity.js';

export const VISIBILITIES = ['private', 'public'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

const MILLISECOND_NOW = () => "date_trunc('milliseconds', now())";

/** The example protected domain object: owned by one user, public or private. */
@Entity({ name: 'resources' })
@Check('resources_visibility_known', `visibility IN ('private', 'public')`)
@Index('resources_created', ['createdAt', 'id'])
@Index('resources_owner_created', ['ownerId', 'createdAt', 'id'])
@Index('resources_public_created', ['createdAt', 'id'], { where: `visibility = 'public'` })
export class Resource {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ForeignKey(() => User, { name: 'resources_owner_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 10_000, default: '' })
  description: string;

  @Column({ type: 'varchar', length: 10 })
  visibility: Visibility;

  @Column({ name: 'created_at', type: 'timestamptz', default: MILLISECOND_NOW })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: MILLISECOND_NOW })
  updatedAt: Date;

  /** Optimistic concurrency: every change adds one; it is the ETag. */
  @Column({ type: 'integer', default: 1 })
  version: number;
}

/**
 * A resource as the repository's statements read it: its instants as ISO 8601 text in UTC to
 * the millisecond, as `Date#toISOString` writes them and the API answers them, formatted by
 * Postgres (resources.repository.ts). Parsed into dates and formatted back, they were a tenth
 * of a list's CPU (two per row). The columns hold milliseconds only (`MILLISECOND_NOW`), so
 * nothing is cut off.
 */
export type ResourceRow = Omit<Resource, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { User } from '../users/user.entity.js';

const MILLISECOND_NOW = () => "date_trunc('milliseconds', now())";

/** Owned by one user, seen by its owner and by admins only. */
@Entity({ name: 'field_notes' })
@Index('field_notes_created', ['createdAt', 'id'])
@Index('field_notes_owner_created', ['ownerId', 'createdAt', 'id'])
export class FieldNote {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @ForeignKey(() => User, { name: 'field_notes_owner_id_fkey', onDelete: 'CASCADE' })
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId: string;

  @Column({ type: 'varchar', length: 200 })
  title: string;

  @Column({ type: 'varchar', length: 10_000, default: '' })
  body: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: MILLISECOND_NOW })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: MILLISECOND_NOW })
  updatedAt: Date;
}

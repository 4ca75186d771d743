import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository, SelectQueryBuilder, WhereExpressionBuilder } from 'typeorm';
import { newestFirst, type Keyset } from '../../db/keyset.js';
import type { FieldNoteScope } from './field-note-scope.js';
import { FieldNote } from './field-note.entity.js';

export interface FieldNoteChanges {
  title?: string;
  body?: string;
}

/** Every query here is scoped: what the caller may not reach is never read. */
@Injectable()
export class FieldNotesRepository {
  constructor(@InjectRepository(FieldNote) private readonly fieldNotes: Repository<FieldNote>) {}

  findInScope(scope: FieldNoteScope, id: string): Promise<FieldNote | null> {
    return this.scoped(scope).andWhere('item.id = :id', { id }).getOne();
  }

  /** Up to `limit` field notes after `after`, newest first. */
  list(scope: FieldNoteScope, limit: number, after?: Keyset): Promise<FieldNote[]> {
    const query = this.scoped(scope);
    return newestFirst(query, ['item.created_at', 'item.id'], limit, after).getMany();
  }

  insert(fieldNote: Pick<FieldNote, 'ownerId' | 'title' | 'body'>): Promise<FieldNote> {
    return this.fieldNotes.save(this.fieldNotes.create(fieldNote));
  }

  /** Applies the changes if the field note is in scope, in one statement; returns whether a row changed. */
  async updateInScope(scope: FieldNoteScope, id: string, changes: FieldNoteChanges): Promise<boolean> {
    const update = this.fieldNotes
      .createQueryBuilder()
      .update(FieldNote)
      .set({ ...changes, updatedAt: () => "date_trunc('milliseconds', now())" })
      .where('id = :id', { id });
    applyScope(update, scope, '');
    return ((await update.execute()).affected ?? 0) === 1;
  }

  async deleteInScope(scope: FieldNoteScope, id: string): Promise<boolean> {
    const remove = this.fieldNotes.createQueryBuilder().delete().from(FieldNote).where('id = :id', { id });
    applyScope(remove, scope, '');
    return ((await remove.execute()).affected ?? 0) === 1;
  }

  private scoped(scope: FieldNoteScope): SelectQueryBuilder<FieldNote> {
    const query = this.fieldNotes.createQueryBuilder('item').where('TRUE');
    applyScope(query, scope, 'item.');
    return query;
  }
}

/** The scope as SQL; `prefix` is the table alias of a select ('item.') or '' in UPDATE/DELETE. */
function applyScope(query: WhereExpressionBuilder, scope: FieldNoteScope, prefix: string): void {
  switch (scope.kind) {
    case 'all':
      return;
    case 'owned':
      query.andWhere(`${prefix}owner_id = :scopeOwner`, { scopeOwner: scope.ownerId });
      return;
    case 'none':
      query.andWhere('FALSE');
  }
}

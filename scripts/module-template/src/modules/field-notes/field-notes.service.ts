import { Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal.js';
import { NotFoundError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page, type PageQuery } from '../../common/http/pagination.js';
import { FieldNoteResponse, type CreateFieldNoteDto, type UpdateFieldNoteDto } from './dto/field-note.dto.js';
import { scopeOf } from './field-note-scope.js';
import { FieldNotesRepository } from './field-notes.repository.js';

// Another user's field note is missing, not forbidden: a 403 would tell that it exists.
const notFound = () => new NotFoundError('No such field note.');

@Injectable()
export class FieldNotesService {
  constructor(private readonly fieldNotes: FieldNotesRepository) {}

  async list(me: Principal, query: PageQuery): Promise<Page<FieldNoteResponse>> {
    const scope = scopeOf(me, 'field-notes:read');
    const rows = await this.fieldNotes.list(scope, query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, FieldNoteResponse.from);
  }

  async get(me: Principal, id: string): Promise<FieldNoteResponse> {
    const fieldNote = await this.fieldNotes.findInScope(scopeOf(me, 'field-notes:read'), id);
    if (!fieldNote) throw notFound();
    return FieldNoteResponse.from(fieldNote);
  }

  async create(me: Principal, fields: CreateFieldNoteDto): Promise<FieldNoteResponse> {
    const fieldNote = await this.fieldNotes.insert({
      ownerId: me.userId,
      title: fields.title,
      body: fields.body ?? '',
    });
    return FieldNoteResponse.from(fieldNote);
  }

  async update(me: Principal, id: string, fields: UpdateFieldNoteDto): Promise<FieldNoteResponse> {
    const scope = scopeOf(me, 'field-notes:write');
    if (!(await this.fieldNotes.updateInScope(scope, id, fields))) throw notFound();
    // Read back through the write scope: a key with field-notes:write alone may not read.
    const updated = await this.fieldNotes.findInScope(scope, id);
    if (!updated) throw notFound();
    return FieldNoteResponse.from(updated);
  }

  async delete(me: Principal, id: string): Promise<void> {
    if (!(await this.fieldNotes.deleteInScope(scopeOf(me, 'field-notes:write'), id))) throw notFound();
  }
}

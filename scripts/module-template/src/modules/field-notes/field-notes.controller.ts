import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Audited } from '../../common/audit/audited.decorator.js';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import { PageQuery } from '../../common/http/pagination.js';
import { CreateFieldNoteDto, FieldNotePage, FieldNoteResponse, UpdateFieldNoteDto } from './dto/field-note.dto.js';
import { FieldNotesService } from './field-notes.service.js';

const uuid = new ParseUUIDPipe({ version: '4' });

@ApiTags('field-notes')
@Controller('api/v1/field-notes')
export class FieldNotesController {
  constructor(private readonly fieldNotes: FieldNotesService) {}

  @Get()
  @ApiOperation({ operationId: 'listFieldNotes', summary: 'List the field notes the caller may see' })
  @Authenticated({ permission: 'field-notes:read' })
  @ApiOkResponse({ type: FieldNotePage })
  list(@Principal() me: Principal, @Query() query: PageQuery): Promise<FieldNotePage> {
    return this.fieldNotes.list(me, query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getFieldNote', summary: 'Get one field note' })
  @Authenticated({ permission: 'field-notes:read' })
  @ApiOkResponse({ type: FieldNoteResponse })
  @ApiNotFoundResponse({ description: 'Missing, or not visible to the caller' })
  get(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<FieldNoteResponse> {
    return this.fieldNotes.get(me, id);
  }

  @Post()
  @ApiOperation({ operationId: 'createFieldNote', summary: 'Create one field note' })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ permission: 'field-notes:write' })
  @Audited('field-note.create')
  @ApiCreatedResponse({ type: FieldNoteResponse, headers: { Location: { description: 'URL of the new field note' } } })
  async create(
    @Principal() me: Principal,
    @Body() fields: CreateFieldNoteDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<FieldNoteResponse> {
    const fieldNote = await this.fieldNotes.create(me, fields);
    res.setHeader('Location', `/api/v1/field-notes/${fieldNote.id}`);
    return fieldNote;
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateFieldNote', summary: 'Change one field note' })
  @Authenticated({ permission: 'field-notes:write' })
  @Audited('field-note.update')
  @ApiOkResponse({ type: FieldNoteResponse })
  @ApiNotFoundResponse({ description: 'Missing, or not visible to the caller' })
  update(
    @Principal() me: Principal,
    @Param('id', uuid) id: string,
    @Body() fields: UpdateFieldNoteDto,
  ): Promise<FieldNoteResponse> {
    return this.fieldNotes.update(me, id, fields);
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteFieldNote', summary: 'Delete one field note' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ permission: 'field-notes:write' })
  @Audited('field-note.delete')
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'Missing, or not visible to the caller' })
  delete(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<void> {
    return this.fieldNotes.delete(me, id);
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { decodeCursor, toPage } from '../../common/http/pagination.js';
import { AuditEventsRepository } from './audit-events.repository.js';
import { AuditEventPage, AuditEventResponse, ListAuditEventsQuery } from './dto/audit.dto.js';

@ApiTags('audit')
@Controller('api/v1/audit-events')
export class AuditEventsController {
  constructor(private readonly events: AuditEventsRepository) {}

  @Get()
  @ApiOperation({ operationId: 'listAuditEvents', summary: 'List audit events, newest first' })
  @Authenticated({ permission: 'audit:read' })
  @ApiOkResponse({ type: AuditEventPage })
  async list(@Query() query: ListAuditEventsQuery): Promise<AuditEventPage> {
    const rows = await this.events.list(query, query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, AuditEventResponse.from, (row) => ({ createdAt: row.at, id: row.id }));
  }
}

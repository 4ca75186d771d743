import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { PageQuery } from '../../../common/http/pagination.js';
import { IsTimestamp } from '../../../common/http/timestamps.js';
import type { AuditEvent } from '../audit-event.entity.js';

const OUTCOMES = ['success', 'failure', 'denied'] as const;

export class ListAuditEventsQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  actorId?: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  action?: string;

  @ApiPropertyOptional({ enum: OUTCOMES })
  @IsOptional()
  @IsIn(OUTCOMES)
  outcome?: (typeof OUTCOMES)[number];

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsTimestamp()
  from?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsTimestamp()
  to?: Date;
}

export class AuditEventResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() at: string;
  @ApiProperty({ type: String, nullable: true }) requestId: string | null;
  @ApiProperty({ type: String, nullable: true }) actorId: string | null;
  @ApiProperty({ type: String, nullable: true }) authMethod: string | null;
  @ApiProperty() action: string;
  @ApiProperty({ type: String, nullable: true }) target: string | null;
  @ApiProperty({ enum: OUTCOMES }) outcome: string;
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent: string | null;
  @ApiProperty({ type: Number, nullable: true }) status: number | null;
  @ApiProperty({ type: Number, nullable: true }) latencyMs: number | null;
  @ApiProperty({ type: Object }) details: Record<string, unknown>;

  static from(event: AuditEvent): AuditEventResponse {
    return {
      id: event.id,
      at: event.at.toISOString(),
      requestId: event.requestId,
      actorId: event.actorId,
      authMethod: event.authMethod,
      action: event.action,
      target: event.target,
      outcome: event.outcome,
      ip: event.ip,
      userAgent: event.userAgent,
      status: event.status,
      latencyMs: event.latencyMs,
      details: event.details,
    };
  }
}

export class AuditEventPage {
  @ApiProperty({ type: [AuditEventResponse] }) data: AuditEventResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

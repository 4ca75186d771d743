import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsOptional, IsString, Length, MaxLength } from 'class-validator';
import type { FieldNote } from '../field-note.entity.js';

/**
 * What a client may set, and nothing else: the validation pipe refuses any other field
 * (id, ownerId, createdAt ...) with 400, so none can be mass-assigned.
 */
export class CreateFieldNoteDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  title: string;

  @ApiPropertyOptional({ maxLength: 10_000, default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  body?: string;
}

export class UpdateFieldNoteDto extends PartialType(CreateFieldNoteDto) {}

export class FieldNoteResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() title: string;
  @ApiProperty() body: string;
  @ApiProperty({ format: 'uuid' }) ownerId: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  static from(fieldNote: FieldNote): FieldNoteResponse {
    return {
      id: fieldNote.id,
      title: fieldNote.title,
      body: fieldNote.body,
      ownerId: fieldNote.ownerId,
      createdAt: fieldNote.createdAt.toISOString(),
      updatedAt: fieldNote.updatedAt.toISOString(),
    };
  }
}

export class FieldNotePage {
  @ApiProperty({ type: [FieldNoteResponse] }) data: FieldNoteResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

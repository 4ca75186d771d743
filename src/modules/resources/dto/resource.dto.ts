import { ApiProperty, ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { PageQuery } from '../../../common/http/pagination.js';
import { VISIBILITIES, type ResourceRow, type Visibility } from '../resource.entity.js';

export class CreateResourceDto {
  @ApiProperty({ minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ maxLength: 10_000, default: '' })
  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  description?: string;

  @ApiProperty({ enum: VISIBILITIES })
  @IsIn(VISIBILITIES)
  visibility: Visibility;
}

export class UpdateResourceDto extends PartialType(CreateResourceDto) {}

export class ListResourcesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: VISIBILITIES })
  @IsOptional()
  @IsIn(VISIBILITIES)
  visibility?: Visibility;

  @ApiPropertyOptional({ maxLength: 200, description: 'Name contains (case-insensitive)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  q?: string;
}

export class ResourceResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() description: string;
  @ApiProperty({ enum: VISIBILITIES }) visibility: Visibility;
  @ApiProperty({ format: 'uuid' }) ownerId: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
  @ApiProperty() version: number;

  static from(resource: ResourceRow): ResourceResponse {
    return {
      id: resource.id,
      name: resource.name,
      description: resource.description,
      visibility: resource.visibility,
      ownerId: resource.ownerId,
      createdAt: resource.createdAt,
      updatedAt: resource.updatedAt,
      version: resource.version,
    };
  }
}

export class ResourcePage {
  @ApiProperty({ type: [ResourceResponse] }) data: ResourceResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

import { API_KEY_TAG } from '../api-key-format.js';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
} from 'class-validator';
import { PERMISSIONS, type Permission } from '../../../common/auth/permission.js';
import type { ApiKey } from '../api-key.entity.js';

export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ enum: PERMISSIONS, isArray: true, description: 'Within your own permissions' })
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, { each: true })
  scopes: Permission[];

  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'Omit for a key that does not expire' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;

  @ApiPropertyOptional({ minimum: 1, maximum: 100_000, default: 600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  rateLimitPerMinute?: number;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ description: 'The text before the `.` of the key: public, for recognising it in listings' })
  prefix: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) scopes: Permission[];
  @ApiProperty() rateLimitPerMinute: number;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: String, nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: String, nullable: true }) lastUsedAt: string | null;
  @ApiProperty({ format: 'uuid' }) ownerId: string;

  static from(key: ApiKey): ApiKeyResponse {
    return {
      id: key.id,
      prefix: `${API_KEY_TAG}${key.prefix}`,
      name: key.name,
      scopes: key.scopes,
      rateLimitPerMinute: key.rateLimitPerMinute,
      createdAt: key.createdAt.toISOString(),
      expiresAt: key.expiresAt?.toISOString() ?? null,
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      ownerId: key.userId,
    };
  }
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({ description: 'Shown this once. Send as `X-API-Key: <key>` or `Authorization: Api-Key <key>`' })
  key: string;
}

export class ApiKeyPage {
  @ApiProperty({ type: [ApiKeyResponse] }) data: ApiKeyResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

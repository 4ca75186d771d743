import { ApiProperty } from '@nestjs/swagger';
import type { PersonalToken } from '../personal-token.entity.js';

/** A personal token as listed: never its secret. */
export class PersonalTokenResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) expiresAt: string | null;
  @ApiProperty({ nullable: true, type: String }) lastUsedAt: string | null;

  static from(row: PersonalToken): PersonalTokenResponse {
    return {
      id: row.id,
      name: row.name,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt?.toISOString() ?? null,
      lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    };
  }
}

export class PersonalTokenPage {
  @ApiProperty({ type: [PersonalTokenResponse] }) data: PersonalTokenResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class CreatedPersonalTokenResponse extends PersonalTokenResponse {
  @ApiProperty({ description: 'Shown this once; send as `Authorization: Token <token>`' })
  token: string;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  IsUrl,
  Length,
  MaxLength,
} from 'class-validator';
import { PERMISSIONS, type Permission } from '../../../common/auth/permission.js';
import { OAUTH_GRANT_TYPES, type OAuthClient, type OAuthGrantType } from '../clients/oauth-client.entity.js';

export class CreateOAuthClientDto {
  @ApiProperty({ minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  name: string;

  @ApiProperty({ type: [String], description: 'Matched exactly, character for character' })
  @IsArray()
  @ArrayMaxSize(10)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(2000, { each: true })
  @IsUrl({ protocols: ['https', 'http'], require_protocol: true, require_tld: false }, { each: true })
  redirectUris: string[];

  @ApiProperty({ enum: OAUTH_GRANT_TYPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(OAUTH_GRANT_TYPES, { each: true })
  grantTypes: OAuthGrantType[];

  @ApiProperty({ enum: PERMISSIONS, isArray: true, description: 'Within your own permissions' })
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(PERMISSIONS.length)
  @IsIn(PERMISSIONS, { each: true })
  scopes: Permission[];

  @ApiProperty({ description: 'A public client (a SPA, a native app) has no secret and must use PKCE' })
  @IsBoolean()
  public: boolean;
}

export class OAuthClientResponse {
  @ApiProperty({ format: 'uuid' }) clientId: string;
  @ApiProperty() name: string;
  @ApiProperty({ type: [String] }) redirectUris: string[];
  @ApiProperty({ enum: OAUTH_GRANT_TYPES, isArray: true }) grantTypes: OAuthGrantType[];
  @ApiProperty({ enum: PERMISSIONS, isArray: true }) scopes: Permission[];
  @ApiProperty() public: boolean;
  @ApiProperty({ format: 'uuid' }) ownerId: string;
  @ApiProperty() createdAt: string;

  static from(client: OAuthClient): OAuthClientResponse {
    return {
      clientId: client.clientId,
      name: client.name,
      redirectUris: client.redirectUris,
      grantTypes: client.grantTypes,
      scopes: client.scopes,
      public: client.isPublic,
      ownerId: client.userId,
      createdAt: client.createdAt.toISOString(),
    };
  }
}

export class CreatedOAuthClientResponse extends OAuthClientResponse {
  @ApiPropertyOptional({ description: 'Confidential clients only; shown this once' })
  clientSecret?: string;
}

export class OAuthClientPage {
  @ApiProperty({ type: [OAuthClientResponse] }) data: OAuthClientResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

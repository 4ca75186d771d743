import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { normalizeEmail } from '../../../common/auth/normalize-email.js';
import { PASSWORD_MAX_LENGTH } from '../../users/dto/password-rules.js';

const toNormalizedEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? normalizeEmail(value) : value;

export class LoginDto {
  @ApiProperty({ format: 'email', maxLength: 254 })
  @Transform(toNormalizedEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ format: 'password', maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  password: string;
}

export class RefreshDto {
  @ApiProperty()
  @IsString()
  @Length(1, 200)
  refresh_token: string;
}

export class VerifyDto {
  @ApiProperty({ description: 'An access token (JWT)' })
  @IsString()
  @Length(1, 4096)
  token: string;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  currentPassword: string;

  @ApiProperty({ format: 'password', minLength: 12, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  newPassword: string;

  @ApiPropertyOptional({ default: false, description: 'Keep your API keys (every other credential ends)' })
  @IsOptional()
  @IsBoolean()
  keepApiKeys?: boolean;
}

export class TokenPairResponse {
  @ApiProperty() access_token: string;
  @ApiProperty() refresh_token: string;
  @ApiProperty({ enum: ['Bearer'] }) token_type: 'Bearer';
  @ApiProperty({ description: 'Seconds until the access token expires' }) expires_in: number;
}

export class MeMfaStatus {
  @ApiProperty({ enum: ['none', 'pending', 'active'] }) totp: string;
  @ApiProperty() recoveryCodesLeft: number;
  @ApiProperty() passkeys: number;
  @ApiProperty({ description: 'Your role requires a second factor (MFA_REQUIRED_ROLES)' }) required: boolean;
}

export class MeResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() displayName: string;
  @ApiProperty({ description: 'Whether the email was proved by mail' }) emailVerified: boolean;
  @ApiProperty({ type: [String] }) roles: string[];
  @ApiProperty({ type: [String] }) permissions: string[];
  @ApiProperty({ enum: ['jwt', 'oauth', 'token', 'session', 'api-key'] }) authMethod: string;
  @ApiPropertyOptional({ description: 'When this sign-in was made (epoch seconds); JWTs and sessions' })
  authTime?: number;
  @ApiPropertyOptional({ type: [String], description: 'How it was made (RFC 8176): pwd, otp, mfa, hwk, swk' })
  amr?: string[];
  @ApiProperty({ type: () => MeMfaStatus }) mfa: MeMfaStatus;
}

export class CsrfTokenResponse {
  @ApiProperty() csrfToken: string;
}

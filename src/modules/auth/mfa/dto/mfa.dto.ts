import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { PASSWORD_MAX_LENGTH } from '../../../users/dto/password-rules.js';

const TOTP_CODE = /^\d{6}$/;

export class TotpEnrollmentResponse {
  @ApiProperty({ description: 'The shared secret, base32 (for typing into an app)' }) secret: string;
  @ApiProperty({ description: 'otpauth:// URI for a QR code' }) otpauthUri: string;
  @ApiProperty({
    description: 'The otpauth URI as a QR code: an SVG image as a data URL, for an <img src>',
    pattern: '^data:image/svg\\+xml;base64,',
    example: 'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIC4uLg==',
  })
  qrCodeDataUrl: string;
}

export class TotpCodeDto {
  @ApiProperty({ pattern: TOTP_CODE.source, example: '123456' })
  @IsString()
  @Matches(TOTP_CODE, { message: 'code must be 6 digits' })
  code: string;
}

export class RecoveryCodesResponse {
  @ApiProperty({ type: [String], description: 'Shown this once; each works once' }) recoveryCodes: string[];
}

export class MfaStatusResponse {
  @ApiProperty({ enum: ['none', 'pending', 'active'] }) totp: string;
  @ApiProperty() recoveryCodesLeft: number;
  @ApiProperty() passkeys: number;
  @ApiProperty({ type: [String], description: 'What a sign-in can be finished with' }) methods: string[];
}

/** The second step: the mfaToken and exactly one of a TOTP code or a recovery code. */
export class MfaVerifyDto {
  @ApiProperty()
  @IsString()
  @Length(1, 100)
  mfaToken: string;

  @ApiPropertyOptional({ pattern: TOTP_CODE.source })
  @IsOptional()
  @IsString()
  @Matches(TOTP_CODE, { message: 'code must be 6 digits' })
  code?: string;

  @ApiPropertyOptional({ example: 'abcd-efgh-ijkl-mnop' })
  @IsOptional()
  @IsString()
  @MaxLength(40)
  recoveryCode?: string;
}

/** A step-up: the password (a user without a second factor) or a code (a user with one). */
export class ReauthenticateDto {
  @ApiPropertyOptional({ format: 'password' })
  @IsOptional()
  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  password?: string;

  @ApiPropertyOptional({ pattern: TOTP_CODE.source })
  @IsOptional()
  @IsString()
  @Matches(TOTP_CODE, { message: 'code must be 6 digits' })
  code?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(40)
  recoveryCode?: string;
}

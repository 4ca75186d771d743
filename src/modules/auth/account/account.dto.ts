import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { normalizeEmail } from '../../../common/auth/normalize-email.js';
import { PASSWORD_MAX_LENGTH } from '../../users/dto/password-rules.js';

const toNormalizedEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? normalizeEmail(value) : value;

/** Mailed tokens are a tag and 43 base64url characters; anything much longer is not one. */
const TOKEN_MAX_LENGTH = 100;

export class MailedTokenDto {
  @ApiProperty({ description: 'The token from the mail (the link or the code)', maxLength: TOKEN_MAX_LENGTH })
  @IsString()
  @Length(1, TOKEN_MAX_LENGTH)
  token: string;
}

export class EmailDto {
  @ApiProperty({ format: 'email', maxLength: 254 })
  @Transform(toNormalizedEmail)
  @IsEmail({ allow_display_name: false, allow_ip_domain: false })
  @MaxLength(254)
  email: string;
}

export class ResetPasswordDto extends MailedTokenDto {
  @ApiProperty({ format: 'password', minLength: 12, maxLength: PASSWORD_MAX_LENGTH })
  @IsString()
  newPassword: string;
}

export class ChangeEmailDto {
  @ApiProperty({ format: 'email', maxLength: 254 })
  @Transform(toNormalizedEmail)
  @IsEmail({ allow_display_name: false, allow_ip_domain: false })
  @MaxLength(254)
  newEmail: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @Length(1, PASSWORD_MAX_LENGTH)
  currentPassword: string;
}

/** The one answer of every request that may send mail to an address it names. */
export class MailAcceptedResponse {
  @ApiProperty({ enum: ['verification-sent', 'accepted'] }) status: 'verification-sent' | 'accepted';
}

import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { normalizeEmail } from '../../../common/auth/normalize-email.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../users/dto/password-rules.js';

export class RegisterDto {
  @ApiProperty({ format: 'email', maxLength: 254 })
  @Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value))
  @IsEmail({ allow_display_name: false, allow_ip_domain: false })
  @MaxLength(254)
  email: string;

  @ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, format: 'password' })
  @IsString()
  // Length rules are the password policy's, which reports them with the other rules.
  password: string;

  @ApiProperty({ minLength: 1, maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  displayName: string;
}

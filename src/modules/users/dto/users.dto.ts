import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { ROLES, type Role } from '../../../common/auth/roles.js';
import { UserResponse } from './user.response.js';

export class UpdateUserDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100)
  displayName?: string;

  @ApiPropertyOptional({ enum: ROLES, isArray: true, description: 'Needs users:manage' })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(ROLES.length)
  @IsIn(ROLES, { each: true })
  roles?: Role[];

  @ApiPropertyOptional({ description: 'Needs users:manage; false kills every credential of the user at once' })
  @IsOptional()
  @IsBoolean()
  isActive?: boolean;
}

export class UserPage {
  @ApiProperty({ type: [UserResponse] }) data: UserResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

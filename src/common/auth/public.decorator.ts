import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:public';

/** The only way out of the global default-deny guard: the route needs no credential. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

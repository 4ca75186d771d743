import { SetMetadata } from '@nestjs/common';

export const AUDITED_ACTION = 'audit:action';

/** One event per request to this route, written by the audit interceptor: `@Audited('resource.delete')`. */
export const Audited = (action: string) => SetMetadata(AUDITED_ACTION, action);

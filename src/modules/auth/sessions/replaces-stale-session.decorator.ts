import { SetMetadata } from '@nestjs/common';

export const REPLACES_STALE_SESSION = 'auth:replaces-stale-session';

/**
 * On this route a `sid` cookie that no longer names a live session is ignored, not refused
 * with 401 (signing in, and fetching the CSRF token to sign in with): a browser whose session
 * expired must be able to sign in on the first try. Any other credential is still checked.
 */
export const ReplacesStaleSession = () => SetMetadata(REPLACES_STALE_SESSION, true);

import { declareOnce, ROUTE_REPLACES_STALE_SESSION } from '../../../common/auth/route-security.js';

/**
 * On this route a `sid` cookie that no longer names a live session is ignored, not refused
 * with 401 (signing in, and fetching the CSRF token to sign in with): a browser whose session
 * expired must be able to sign in on the first try. Any other credential is still checked.
 */
export const ReplacesStaleSession = () =>
  declareOnce(ROUTE_REPLACES_STALE_SESSION, 'stale-session handling (@ReplacesStaleSession)', true);

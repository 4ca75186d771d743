/**
 * How long past its expiry an access token's revocation is kept: beyond the verifier's
 * clock leeway, so nothing a verifier may still accept loses its revocation.
 */
export const CLOCK_MARGIN_MS = 60_000;

import { Secret, TOTP } from 'otpauth';
import { renderSVG } from 'uqr';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const TOTP_DIGITS = 6;
/** One step either side: a phone clock up to 30 s off still works; more widens guessing. */
const SKEW_STEPS = 1;
/** 160 bits, the HMAC-SHA-1 block RFC 4226 recommends. */
const SECRET_BYTES = 20;

export function newTotpSecret(): Buffer {
  return Buffer.from(new Secret({ size: SECRET_BYTES }).bytes);
}

function totpOf(secret: Buffer, account = '', issuer = ''): TOTP {
  return new TOTP({
    issuer,
    label: account,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
  });
}

/** What an authenticator app scans: `otpauth://totp/<issuer>:<account>?secret=...`. */
export function otpauthUri(secret: Buffer, account: string, issuer: string): string {
  return totpOf(secret, account, issuer).toString();
}

/**
 * That URI as a QR code: an SVG image as a data URL, for an `<img src>` (an image is never run
 * as a document, so no client puts our markup into its page). Error correction M and the
 * four-module quiet zone of ISO/IEC 18004, so that phone cameras read it off any background.
 */
export function qrCodeDataUrl(uri: string): string {
  const svg = renderSVG(uri, { ecc: 'M', border: 4 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

export function base32Of(secret: Buffer): string {
  return new Secret({ buffer: Uint8Array.from(secret).buffer }).base32;
}

/**
 * The time step a code is valid for (within the skew window), or null. The comparison is
 * otpauth's constant-time one. Callers accept a step at most once (see TotpFactor.lastUsedStep).
 */
export function stepOfCode(secret: Buffer, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: now, window: SKEW_STEPS });
  return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/** The code for a moment: tests, and the CLI's enrolment help, compute codes as an app would. */
export function codeAt(secret: Buffer, at: number): string {
  return totpOf(secret).generate({ timestamp: at });
}

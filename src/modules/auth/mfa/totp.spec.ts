import { describe, expect, it } from 'vitest';
import { readQrCode } from '../../../../test/support/qr-code.js';
import { codeAt, otpauthUri, qrCodeDataUrl, stepOfCode, TOTP_PERIOD_SECONDS } from './totp.js';

/** RFC 6238 Appendix B, SHA-1 seed; the 6-digit codes are the 8-digit ones mod 10^6. */
const SEED = Buffer.from('12345678901234567890', 'ascii');
const VECTORS: [seconds: number, eightDigits: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('should compute the RFC 6238 code at %i s', (seconds, eightDigits) => {
    expect(codeAt(SEED, seconds * 1000)).toBe(eightDigits.slice(-6));
  });

  it.each(VECTORS)('should accept the RFC 6238 code at %i s for its own step', (seconds, eightDigits) => {
    expect(stepOfCode(SEED, eightDigits.slice(-6), seconds * 1000)).toBe(Math.floor(seconds / TOTP_PERIOD_SECONDS));
  });

  it('should accept one step of clock skew either side, and no more', () => {
    const now = 1_234_567_890_000;
    const step = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
    for (const offset of [-1, 0, 1]) {
      expect(stepOfCode(SEED, codeAt(SEED, now + offset * TOTP_PERIOD_SECONDS * 1000), now)).toBe(step + offset);
    }
    for (const offset of [-3, -2, 2, 3]) {
      expect(stepOfCode(SEED, codeAt(SEED, now + offset * TOTP_PERIOD_SECONDS * 1000), now)).toBeNull();
    }
  });

  it('should refuse what is not six digits', () => {
    const code = codeAt(SEED, 59_000);
    for (const bad of ['', code.slice(1), `${code}0`, ' 287082', '28708a'])
      expect(stepOfCode(SEED, bad, 59_000)).toBeNull();
  });
});

describe('qrCodeDataUrl', () => {
  const uri = otpauthUri(SEED, 'someone@example.com', 'Secure API');

  it('should draw the otpauth URI as an SVG QR code that a decoder reads back', () => {
    const drawn = qrCodeDataUrl(uri);
    expect(drawn).toMatch(/^data:image\/svg\+xml;base64,/);
    const svg = Buffer.from(drawn.split(',')[1] as string, 'base64').toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
    expect(readQrCode(drawn)).toBe(uri);
  });

  it('should draw the same picture for the same URI, and another for another', () => {
    expect(qrCodeDataUrl(uri)).toBe(qrCodeDataUrl(uri));
    expect(qrCodeDataUrl(otpauthUri(SEED, 'other@example.com', 'Secure API'))).not.toBe(qrCodeDataUrl(uri));
  });
});

/**
 * What may stand in a To header: one plain address, nothing else. Registration already
 * validates emails, but the outbox checks again before any header is built, so a value
 * that slipped past (an old row, a future caller) cannot add a header or a recipient:
 * no CR, LF or other control character, no display-name syntax (`"`, `<`, `>`), no list
 * separators (`,`, `;`), no spaces.
 */
// Control characters are exactly what this refuses.
// eslint-disable-next-line no-control-regex
const PLAIN_ADDRESS = /^[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]{1,64}@[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]{1,253}$/u;

export function isPlainAddress(value: string): boolean {
  return value.length <= 254 && PLAIN_ADDRESS.test(value);
}

export class UnsafeRecipientError extends Error {
  constructor() {
    super('the recipient is not one plain address');
    this.name = 'UnsafeRecipientError';
  }
}

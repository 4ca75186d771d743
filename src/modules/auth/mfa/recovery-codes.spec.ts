import { describe, expect, it } from 'vitest';
import { hashRecoveryCode } from './recovery-codes.js';

describe(hashRecoveryCode.name, () => {
  it('should store a code as the SHA-256 of it without separators or case, as before, so stored codes still match', () => {
    // sha256("abcdefgh234"), computed outside Node.
    const stored = 'ede97518b5b1a2931ad08142e87d2fb7dc10d7148a502551c73f8827c91cb8e0';
    expect(hashRecoveryCode('abcd-efgh-234').toString('hex')).toBe(stored);
    expect(hashRecoveryCode('ABCD EFGH 234').toString('hex')).toBe(stored);
  });
});

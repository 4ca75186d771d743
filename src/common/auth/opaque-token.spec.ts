import { describe, expect, it } from 'vitest';
import { hashOpaqueToken } from './opaque-token.js';

describe(hashOpaqueToken.name, () => {
  it('should store a token as the SHA-256 of its UTF-8 bytes, as before, so stored tokens still match', () => {
    // sha256("nsa_pat_abc"), computed outside Node.
    expect(hashOpaqueToken('nsa_pat_abc').toString('hex')).toBe(
      'd65ccb16703c01f77515649535a2d77dbf9295e960396c17d794a93ba6e7367d',
    );
  });
});

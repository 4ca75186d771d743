import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../../common/errors/app-error.js';
import { BoundedSeenSet } from './dpop-replay-cache.js';

describe(BoundedSeenSet.name, () => {
  it('should see an id once within its lifetime, and again after it', () => {
    const seen = new BoundedSeenSet(10, 1_000);
    expect(seen.add('a', 0)).toBe(true);
    expect(seen.add('a', 999)).toBe(false);
    expect(seen.add('a', 1_000)).toBe(true);
  });

  it('should refuse new ids when full of live ones, rather than forget one', () => {
    const seen = new BoundedSeenSet(2, 1_000);
    expect(seen.add('a', 0)).toBe(true);
    expect(seen.add('b', 10)).toBe(true);
    expect(() => seen.add('c', 20)).toThrow(ServiceUnavailableError);
    expect(seen.add('a', 30)).toBe(false);
    // Once the oldest has expired there is room again.
    expect(seen.add('c', 1_000)).toBe(true);
    expect(seen.add('b', 1_000)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { SpentAddresses, type AppliedLimit } from './spent-addresses.js';

const spent: AppliedLimit = { name: 'anonymous', limit: 5, remaining: 0, resetSeconds: 30, windowSeconds: 60 };

describe(SpentAddresses.name, () => {
  it('should refuse an address until its window ends, counting the time left down', () => {
    const addresses = new SpentAddresses();
    addresses.note('10.0.0.1', spent, 0);
    expect(addresses.check('10.0.0.1', 10_000)).toEqual({ ...spent, resetSeconds: 20 });
    expect(addresses.check('10.0.0.2', 10_000)).toBeUndefined();
    expect(addresses.check('10.0.0.1', 30_000)).toBeUndefined();
    expect(addresses.size).toBe(0);
  });

  it('should hold a bounded number of addresses, forgetting the least recently refused', () => {
    const addresses = new SpentAddresses(2);
    addresses.note('10.0.0.1', spent, 0);
    addresses.note('10.0.0.2', spent, 0);
    addresses.note('10.0.0.1', spent, 1);
    addresses.note('10.0.0.3', spent, 2);
    expect(addresses.size).toBe(2);
    expect(addresses.check('10.0.0.2', 3)).toBeUndefined();
    expect(addresses.check('10.0.0.1', 3)).toBeDefined();
  });
});

import { describe, expect, it } from 'vitest';
import { passwordProblems, similarity } from './password-policy.js';

const user = { email: 'rosalind.franklin@example.test', displayName: 'Rosalind' };

describe(passwordProblems.name, () => {
  it('should accept a long, unusual password', async () => {
    expect(await passwordProblems('Tidal-Orbit-7731-Quartz!', user)).toEqual([]);
  });

  it.each([
    ['shorter than 12 characters', 'Xk3!pQ9z', /at least 12/],
    ['entirely numeric', '839201746512', /numeric/],
    ['a common password', 'password12345', /easy to guess/],
    ['like the email', 'rosalind.franklin', /similar/],
    ['the display name with digits', 'Rosalind1234', /similar|easy/],
  ])('should refuse a password %s', async (_label, password, problem) => {
    expect((await passwordProblems(password, user)).join('; ')).toMatch(problem);
  });

  it('should refuse passwords over the maximum length', async () => {
    expect(await passwordProblems('a'.repeat(257), user)).toEqual(['must be at most 256 characters long']);
  });
});

describe(similarity.name, () => {
  it('should measure like difflib.SequenceMatcher.ratio', () => {
    // Values from Python: SequenceMatcher(None, a, b).ratio()
    expect(similarity('abcd', 'bcde')).toBeCloseTo(0.75);
    expect(similarity('rosalind', 'rosalind1234')).toBeCloseTo(0.8);
    expect(similarity('abc', 'xyz')).toBe(0);
  });
});

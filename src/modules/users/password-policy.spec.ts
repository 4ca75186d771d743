import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServiceUnavailableError } from '../../common/errors/app-error.js';
import { MAX_QUEUED_PASSWORD_CHECKS, passwordProblems, similarity, similarityBound } from './password-policy.js';

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

  it('should refuse at once, with a 503, the checks past a full queue, and answer the others', async () => {
    const checks = Array.from({ length: MAX_QUEUED_PASSWORD_CHECKS + 40 }, (_, i) =>
      passwordProblems(`Tidal-Orbit-${i}-Quartz!`, user).then(
        (problems) => ({ problems }),
        (error: unknown) => ({ error }),
      ),
    );
    const settled = await Promise.all(checks);
    const refused = settled.flatMap((result) => ('error' in result ? [result.error] : []));
    // One may be running rather than waiting; the rest of the queue is full.
    expect(refused.length).toBeGreaterThanOrEqual(40 - 1);
    for (const error of refused) expect(error).toBeInstanceOf(ServiceUnavailableError);
    for (const result of settled) if ('problems' in result) expect(result.problems).toEqual([]);
    // Once the queue drains, checks are taken again.
    expect(await passwordProblems('Tidal-Orbit-7731-Quartz!', user)).toEqual([]);
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

/** difflib's algorithm as written in Python: extend a run from every pair of starts. */
function referenceSimilarity(a: string, b: string): number {
  const matching = (x: string, y: string): number => {
    let best = { length: 0, i: 0, j: 0 };
    for (let i = 0; i < x.length; i++) {
      for (let j = 0; j < y.length; j++) {
        let k = 0;
        while (i + k < x.length && j + k < y.length && x[i + k] === y[j + k]) k++;
        if (k > best.length) best = { length: k, i, j };
      }
    }
    if (best.length === 0) return 0;
    return (
      best.length +
      matching(x.slice(0, best.i), y.slice(0, best.j)) +
      matching(x.slice(best.i + best.length), y.slice(best.j + best.length))
    );
  };
  return a.length + b.length === 0 ? 1 : (2 * matching(a, b)) / (a.length + b.length);
}

describe('similarity, computed in O(n·m)', () => {
  // A small alphabet makes long and repeated runs, where the tie-breaking matters.
  const text = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '.'), maxLength: 24 });

  it('should equal the reference algorithm on any pair of strings', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(similarity(a, b)).toBe(referenceSimilarity(a, b));
      }),
      { numRuns: 3_000 },
    );
  });

  it('should never exceed its linear-time bound', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(similarity(a, b)).toBeLessThanOrEqual(similarityBound(a, b) + 1e-12);
      }),
      { numRuns: 3_000 },
    );
  });
});

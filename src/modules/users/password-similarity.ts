// No imports: the password-strength worker loads this file as it is, from src/ and from dist/.

/** Django's UserAttributeSimilarityValidator default. */
export const MAX_SIMILARITY = 0.7;

/**
 * Whether the (lower-cased) password is too much like one of the user's attributes, as
 * Django's UserAttributeSimilarityValidator judges it.
 */
export function tooSimilar(password: string, attributes: readonly string[]): boolean {
  const lowered = password.toLowerCase();
  return attributes.some(
    (attr) => similarityBound(lowered, attr) >= MAX_SIMILARITY && similarity(lowered, attr) >= MAX_SIMILARITY,
  );
}

/**
 * Ratcliff/Obershelp similarity, the measure Python's difflib (and so Django) uses: twice the
 * characters matched by recursively taking the longest common run, over both lengths.
 */
export function similarity(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  return (2 * matchingCharacters(a, 0, a.length, b, 0, b.length)) / (a.length + b.length);
}

/**
 * An upper bound of `similarity` in linear time (difflib's quick_ratio): the characters the
 * two strings share, counted as multisets. Most attributes are ruled out by it alone.
 */
export function similarityBound(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const ch of b) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let shared = 0;
  for (const ch of a) {
    const left = counts.get(ch) ?? 0;
    if (left > 0) {
      counts.set(ch, left - 1);
      shared++;
    }
  }
  return (2 * shared) / (a.length + b.length);
}

function matchingCharacters(a: string, aLo: number, aHi: number, b: string, bLo: number, bHi: number): number {
  const best = longestMatch(a, aLo, aHi, b, bLo, bHi);
  if (best.length === 0) return 0;
  return (
    best.length +
    matchingCharacters(a, aLo, best.i, b, bLo, best.j) +
    matchingCharacters(a, best.i + best.length, aHi, b, best.j + best.length, bHi)
  );
}

/**
 * The longest common run of a[aLo, aHi) and b[bLo, bHi), the leftmost in `a`, then in `b`.
 * Dynamic programming over run lengths ending at each pair: O(n·m) for any input, where
 * extending a run from every pair of starts costs O(n·m·k) and a crafted password of
 * repeated characters stalled the event loop for a tenth of a second.
 */
function longestMatch(
  a: string,
  aLo: number,
  aHi: number,
  b: string,
  bLo: number,
  bHi: number,
): { i: number; j: number; length: number } {
  let best = { i: aLo, j: bLo, length: 0 };
  const width = bHi - bLo;
  let previous = new Uint16Array(width + 1);
  let current = new Uint16Array(width + 1);
  for (let i = aLo; i < aHi; i++) {
    for (let j = bLo; j < bHi; j++) {
      const column = j - bLo;
      const length = a[i] === b[j] ? (previous[column] as number) + 1 : 0;
      current[column + 1] = length;
      if (length === 0 || length < best.length) continue;
      const start = { i: i - length + 1, j: j - length + 1 };
      if (length > best.length || start.i < best.i || (start.i === best.i && start.j < best.j)) {
        best = { ...start, length };
      }
    }
    [previous, current] = [current, previous];
  }
  return best;
}

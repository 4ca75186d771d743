import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as enDictionary, translations } from '@zxcvbn-ts/language-en';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
/** zxcvbn score 0..4; 3 means "safely unguessable: moderate protection from offline attack". */
const MIN_STRENGTH_SCORE = 3;
/** Django's UserAttributeSimilarityValidator default. */
const MAX_SIMILARITY = 0.7;
/** zxcvbn's cost grows with length; a 100-character prefix is plenty to judge strength. */
const STRENGTH_CHECK_PREFIX = 100;

// The dictionaries ship inside the npm packages: nothing is downloaded at run time.
const zxcvbn = new ZxcvbnFactory({
  translations,
  graphs: adjacencyGraphs,
  dictionary: { ...commonDictionary, ...enDictionary },
});

/** Ratcliff/Obershelp similarity, the measure Python's difflib (and so Django) uses. */
export function similarity(a: string, b: string): number {
  if (a.length + b.length === 0) return 1;
  return (2 * matchingCharacters(a, b)) / (a.length + b.length);
}

function matchingCharacters(a: string, b: string): number {
  let best = { length: 0, i: 0, j: 0 };
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      let k = 0;
      while (i + k < a.length && j + k < b.length && a[i + k] === b[j + k]) k++;
      if (k > best.length) best = { length: k, i, j };
    }
  }
  if (best.length === 0) return 0;
  return (
    best.length +
    matchingCharacters(a.slice(0, best.i), b.slice(0, best.j)) +
    matchingCharacters(a.slice(best.i + best.length), b.slice(best.j + best.length))
  );
}

/**
 * Django's validators (minimum length, not all numeric, not common, not like the user's
 * attributes) plus a real strength estimate. Returns what is wrong, empty when acceptable.
 */
export function passwordProblems(password: string, userInputs: { email: string; displayName?: string }): string[] {
  if (password.length < PASSWORD_MIN_LENGTH) {
    return [`must be at least ${PASSWORD_MIN_LENGTH} characters long`];
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    return [`must be at most ${PASSWORD_MAX_LENGTH} characters long`];
  }
  const problems: string[] = [];
  if (/^\d+$/.test(password)) problems.push('must not be entirely numeric');

  const lowered = password.toLowerCase();
  const attributes = [userInputs.email, userInputs.email.split('@')[0] ?? '', userInputs.displayName ?? '']
    .flatMap((value) => [value, ...value.split(/\W+/)])
    .map((v) => v.toLowerCase())
    .filter((v) => v.length >= 3);
  if (attributes.some((attr) => similarity(lowered, attr) >= MAX_SIMILARITY)) {
    problems.push('is too similar to the email or display name');
  }

  const strength = zxcvbn.check(password.slice(0, STRENGTH_CHECK_PREFIX), attributes);
  if (strength.score < MIN_STRENGTH_SCORE) {
    const hint = strength.feedback.warning ?? strength.feedback.suggestions[0];
    problems.push(`is too easy to guess${hint ? ` (${hint.replace(/\.$/, '').toLowerCase()})` : ''}`);
  }
  return problems;
}

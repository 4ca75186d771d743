// Runs in a worker thread: zxcvbn's matching and the similarity to the user's attributes cost
// tens of milliseconds of CPU for some passwords, which on the main thread would stall every
// other request. Node loads this file as it is, from src/ (type stripping) and from dist/, so
// its one relative import names the extension this file has.
import { extname } from 'node:path';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as commonDictionary } from '@zxcvbn-ts/language-common';
import { dictionary as enDictionary, translations } from '@zxcvbn-ts/language-en';

// The dictionaries ship inside the npm packages: nothing is downloaded at run time.
const zxcvbn = new ZxcvbnFactory({
  translations,
  graphs: adjacencyGraphs,
  dictionary: { ...commonDictionary, ...enDictionary },
  // Bounds the l33t matcher, whose cost grows combinatorially with substitutable characters.
  l33tMaxSubstitutions: 10,
  maxLength: 100,
});

const { tooSimilar } = (await import(
  new URL(`./password-similarity${extname(import.meta.url)}`, import.meta.url).href
)) as typeof import('./password-similarity.js');

export default function estimateStrength(task: { password: string; userInputs: string[] }): {
  score: number;
  hint: string | null;
  similar: boolean;
} {
  const result = zxcvbn.check(task.password, task.userInputs);
  return {
    score: result.score,
    hint: result.feedback.warning ?? result.feedback.suggestions[0] ?? null,
    similar: tooSimilar(task.password, task.userInputs),
  };
}

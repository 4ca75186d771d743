// Runs in a worker thread: zxcvbn's matching costs tens of milliseconds of CPU per password,
// which on the main thread would stall every other request. No relative imports here, so
// Node can load this file as is from src/ (type stripping) and from dist/.
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

export default function estimateStrength(task: { password: string; userInputs: string[] }): {
  score: number;
  hint: string | null;
} {
  const result = zxcvbn.check(task.password, task.userInputs);
  return { score: result.score, hint: result.feedback.warning ?? result.feedback.suggestions[0] ?? null };
}

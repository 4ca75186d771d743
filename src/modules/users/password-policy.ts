import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
/** zxcvbn score 0..4; 3 means "safely unguessable: moderate protection from offline attack". */
const MIN_STRENGTH_SCORE = 3;
/** Django's UserAttributeSimilarityValidator default. */
const MAX_SIMILARITY = 0.7;

type StrengthWorkers = Piscina<{ password: string; userInputs: string[] }, { score: number; hint: string | null }>;

/**
 * The zxcvbn workers start on the first password checked, not when this module is imported
 * (a DTO importing the length limits must not start threads), and stop with the app.
 */
let strengthWorkers: StrengthWorkers | undefined;

function workers(): StrengthWorkers {
  strengthWorkers ??= new Piscina({
    // Same extension as this module: .ts when running from src/ (tests), .js from dist/.
    filename: fileURLToPath(new URL(`./password-strength.worker${extname(import.meta.url)}`, import.meta.url)),
    minThreads: 1,
    maxThreads: 2,
    idleTimeout: 60_000,
  });
  return strengthWorkers;
}

export async function stopPasswordStrengthWorkers(): Promise<void> {
  const running = strengthWorkers;
  strengthWorkers = undefined;
  await running?.destroy();
}

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
export async function passwordProblems(
  password: string,
  userInputs: { email: string; displayName?: string },
): Promise<string[]> {
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

  const { score, hint } = await workers().run({ password, userInputs: attributes });
  if (score < MIN_STRENGTH_SCORE) {
    problems.push(`is too easy to guess${hint ? ` (${hint.replace(/\.$/, '').toLowerCase()})` : ''}`);
  }
  return problems;
}

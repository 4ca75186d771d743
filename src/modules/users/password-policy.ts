import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

import { ServiceUnavailableError } from '../../common/errors/app-error.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './dto/password-rules.js';

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH };
/** zxcvbn score 0..4; 3 means "safely unguessable: moderate protection from offline attack". */
const MIN_STRENGTH_SCORE = 3;
/**
 * Checks waiting for the thread beyond this are refused with a 503 at once: the rate limits
 * come first, but addresses enough (a botnet's) could otherwise queue work without bound.
 * At about 30 ms a check, a full queue is two seconds of work.
 */
export const MAX_QUEUED_PASSWORD_CHECKS = 64;

type StrengthWorkers = Piscina<
  { password: string; userInputs: string[] },
  { score: number; hint: string | null; similar: boolean }
>;

/**
 * The zxcvbn workers start on the first password checked, not when this module is imported
 * (a DTO importing the length limits must not start threads), and stop with the app.
 */
let strengthWorkers: StrengthWorkers | undefined;

function workers(): StrengthWorkers {
  strengthWorkers ??= new Piscina({
    // Same extension as this module: .ts when running from src/ (tests), .js from dist/.
    filename: fileURLToPath(new URL(`./password-strength.worker${extname(import.meta.url)}`, import.meta.url)),
    // One thread, and none when idle: each holds its own V8 heap and zxcvbn's dictionaries
    // (60 to 100 MB of RSS, measured), for sign-ups and password changes that come at the auth
    // rate limit at most. A second thread would double that for a burst of sign-ups. It
    // leaves ten seconds after its last check: starting again costs about 300 ms once, while
    // a minute of idle thread was a third of the server's memory (npm run soak).
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 10_000,
  });
  return strengthWorkers;
}

export async function stopPasswordStrengthWorkers(): Promise<void> {
  const running = strengthWorkers;
  strengthWorkers = undefined;
  await running?.destroy();
}

/**
 * Django's validators (minimum length, not all numeric, not common, not like the user's
 * attributes) plus a real strength estimate. Returns what is wrong, empty when acceptable.
 */
export { similarity, similarityBound } from './password-similarity.js';

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

  const attributes = [userInputs.email, userInputs.email.split('@')[0] ?? '', userInputs.displayName ?? '']
    .flatMap((value) => [value, ...value.split(/\W+/)])
    .map((v) => v.toLowerCase())
    .filter((v) => v.length >= 3);
  // Both checks run in a worker: each costs milliseconds of CPU, more for crafted input.
  const pool = workers();
  if (pool.queueSize >= MAX_QUEUED_PASSWORD_CHECKS) {
    throw new ServiceUnavailableError('Too many password checks are waiting; try again in a moment.');
  }
  const { score, hint, similar } = await pool.run({ password, userInputs: attributes });
  if (similar) problems.push('is too similar to the email or display name');
  if (score < MIN_STRENGTH_SCORE) {
    problems.push(`is too easy to guess${hint ? ` (${hint.replace(/\.$/, '').toLowerCase()})` : ''}`);
  }
  return problems;
}

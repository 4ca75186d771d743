import type { LevelWithSilent } from 'pino';
import { describe, expect, it } from 'vitest';
import { requestLogLevel } from './request-log.js';

/** The configured level, a response's status, whether it failed, and the level its line gets. */
type Case = [configured: LevelWithSilent, status: number, failed: boolean, expected: LevelWithSilent];

function expectLevels(cases: Case[]): void {
  for (const [configured, status, failed, expected] of cases) {
    expect(requestLogLevel(configured)(status, failed), `${configured}: ${status}, failed ${failed}`).toBe(expected);
  }
}

describe(requestLogLevel.name, () => {
  it('should log refusals at info and failures at error, whatever the configured level lets through', () => {
    expectLevels([
      ['info', 200, false, 'info'],
      ['info', 404, false, 'info'],
      ['info', 401, false, 'info'],
      ['info', 500, false, 'error'],
      ['info', 200, true, 'error'],
    ]);
  });

  it('should not build the line of a request the configured level drops', () => {
    expectLevels([
      ['warn', 200, false, 'silent'],
      ['warn', 302, false, 'silent'],
      ['warn', 401, false, 'silent'],
      ['warn', 429, false, 'silent'],
      ['warn', 503, false, 'error'],
      ['error', 401, false, 'silent'],
      ['silent', 500, true, 'silent'],
      ['trace', 200, false, 'info'],
    ]);
  });
});

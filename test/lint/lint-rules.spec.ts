import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs a command as CI does; a non-zero exit is returned, not thrown. */
async function exitOf(command: string, args: string[], cwd = process.cwd()) {
  try {
    const { stdout } = await run(command, args, { cwd, maxBuffer: 10 * 1024 * 1024 });
    return { code: 0, stdout };
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    return { code, stdout };
  }
}

const bin = (name: string) => join(process.cwd(), 'node_modules', '.bin', name);

/**
 * `npm run lint` (which CI runs) fails on each risk it is there to catch, proven on the
 * deliberately bad files of test/lint/fixtures, which the lint itself leaves out.
 */
describe('npm run lint', () => {
  let configDir: string;
  beforeAll(async () => {
    // The project's own config, minus the line that leaves the fixtures out.
    const config = JSON.parse(await readFile('.oxlintrc.json', 'utf8')) as { ignorePatterns?: string[] };
    delete config.ignorePatterns;
    configDir = await mkdtemp(join(tmpdir(), 'oxlintrc-'));
    await writeFile(join(configDir, '.oxlintrc.json'), JSON.stringify(config));
  });
  afterAll(() => rm(configDir, { recursive: true, force: true }));

  it("should fail on a floating promise, a promise passed where void is expected, a switch that misses a case and @nestjs/throttler's decorators", async () => {
    const { code, stdout } = await exitOf(bin('oxlint'), [
      '-c',
      join(configDir, '.oxlintrc.json'),
      '-f',
      'unix',
      'test/lint/fixtures/lint-violations.ts',
    ]);
    expect(code).not.toBe(0);
    expect(stdout).toMatch(/lint-violations\.ts:3:\d+: .*\[Error\/eslint\(no-restricted-imports\)\]/);
    expect(stdout).toMatch(/lint-violations\.ts:10:\d+: .*\[Error\/typescript\(no-floating-promises\)\]/);
    expect(stdout).toMatch(/lint-violations\.ts:14:\d+: .*\[Error\/typescript\(no-misused-promises\)\]/);
    expect(stdout).toMatch(/lint-violations\.ts:20:\d+: .*\[Error\/typescript\(switch-exhaustiveness-check\)\]/);
  });

  it('should fail on an import of another module past its public surface, and only on that one', async () => {
    const fixture = 'test/lint/fixtures/boundaries';
    const { code, stdout } = await exitOf(
      bin('depcruise'),
      ['src', '--config', join(process.cwd(), '.dependency-cruiser.cjs'), '--output-type', 'err'],
      join(process.cwd(), fixture),
    );
    expect(code).not.toBe(0);
    const violations = stdout.split('\n').filter((line) => line.includes('error '));
    expect(violations).toEqual([
      expect.stringMatching(
        /module-public-surface: src\/modules\/alpha\/alpha\.service\.ts → src\/modules\/beta\/beta-internals\.ts/,
      ),
    ]);
  });

  it('should pass on the project as it is', async () => {
    const { code, stdout } = await exitOf(bin('depcruise'), [
      'src',
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'err',
    ]);
    expect(stdout).not.toMatch(/error /);
    expect(code).toBe(0);
  });
});

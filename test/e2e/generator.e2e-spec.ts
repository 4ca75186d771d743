import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * `npm run new:module` in a copy of this project, as a developer runs it: what it writes must
 * typecheck and pass lint, its own e2e tests must pass (they try BOLA, mass assignment and
 * missing credentials), and the route-policy snapshot and the specs of the registries must
 * accept what it registered. The commands are those of docs/adding-a-module.md. The generated
 * tests run on DATABASE_URL's Postgres when it is set, else on the embedded database, as
 * `npm test` does.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What a clone does not have (installed, built, local state); node_modules is linked instead. */
const NOT_COPIED = new Set([
  'node_modules',
  '.node',
  'dist',
  '.data',
  '.git',
  '.env',
  'coverage',
  '.bench',
  '.tmpbuild',
]);
const OUTPUT_SHOWN = 6_000;

interface Run {
  code: number;
  output: string;
}

/** The environment of a developer's shell: this Node first on PATH, nothing of this vitest run. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')));
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' };
}

function run(cwd: string, command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: shellEnv(), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The commands of docs/adding-a-module.md, as written there. */
const GENERATE = 'npm run new:module -- notes';
const TYPECHECK = 'npm run typecheck';
const RUN_ITS_TESTS = 'npm test -- test/e2e/notes.e2e-spec.ts';
const ACCEPT_ITS_ROUTES = 'npm test -- test/e2e/route-policy.e2e-spec.ts -u';

/** A command line of plain words, as a shell would split it. */
const shell = (cwd: string, command: string) => {
  const [program = '', ...args] = command.split(' ');
  return run(cwd, program, args);
};

async function expectSuccess(pending: Promise<Run>): Promise<string> {
  const { code, output } = await pending;
  expect(code, output.slice(-OUTPUT_SHOWN)).toBe(0);
  return output;
}

/**
 * `npm run typecheck`'s errors, without their line numbers (an edit moves them). Compared
 * before and after generating, so that errors in work in progress elsewhere in the tree
 * are not blamed on the generator.
 */
async function typeErrors(project: string): Promise<string[]> {
  const { code, output } = await shell(project, TYPECHECK);
  const errors = output
    .split('\n')
    .filter((line) => / error TS\d+:/.test(line))
    .map((line) => line.replace(/\(\d+,\d+\)/, ''));
  expect(code === 0 || errors.length > 0, `tsc failed without naming an error:\n${output}`).toBe(true);
  return errors;
}

/** Every file under src/ and test/ with its text: what the generator may have written. */
async function sources(project: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const folder of ['src', 'test']) {
    for (const entry of await readdir(join(project, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      files.set(relative(project, path), await readFile(path, 'utf8'));
    }
  }
  return files;
}

interface VitestReport {
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

describe('npm run new:module', () => {
  let project: string;
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'new-module-'));
    await cp(ROOT, project, {
      recursive: true,
      filter: (source) => {
        const path = relative(ROOT, source);
        return !NOT_COPIED.has(path.split(sep)[0] ?? '') && !path.endsWith('.tsbuildinfo');
      },
    });
    await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
  });
  afterAll(() => (project ? rm(project, { recursive: true, force: true }) : undefined));

  it.each([
    ['Notes', /lower kebab-case/],
    ['invoice_items', /lower kebab-case/],
    ['2fa-codes', /lower kebab-case/],
    ['note', /plural noun/],
    ['address', /plural noun/],
    ['resources', /src\/modules\/resources already exists/],
    ['sessions', /table named sessions already exists/],
    ['audit-events', /table named audit_events already exists/],
    ['news', /reserved word "new"/],
    ['columns', /column\.entity\.ts declare Column twice/],
    ['dates', /class Date, hiding the global/],
    [`${'long-'.repeat(8)}names`, /longer than 40 characters/],
  ])('should refuse the name %s, saying why, and write nothing', async (name, reason) => {
    const before = await sources(project);
    const refused = await run(project, process.execPath, ['scripts/new-module.mjs', name]);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(reason);
    expect(await sources(project)).toEqual(before);
  });

  it('should refuse anything but one name', async () => {
    for (const args of [[], ['notes', 'tasks'], ['--help']]) {
      const refused = await run(project, process.execPath, ['scripts/new-module.mjs', ...args]);
      expect(refused).toEqual({ code: 1, output: expect.stringMatching(/usage: npm run new:module -- <plural-name>/) });
    }
  });

  it('should name a registry whose anchor is gone, and write nothing', async () => {
    const roles = join(project, 'src/common/auth/roles.ts');
    const original = await readFile(roles, 'utf8');
    await writeFile(
      roles,
      original.replace('const USER: readonly Permission[]', 'const MEMBER: readonly Permission[]'),
    );
    try {
      const before = await sources(project);
      const refused = await run(project, process.execPath, ['scripts/new-module.mjs', 'notes']);
      expect(refused.code).toBe(1);
      expect(refused.output).toContain('src/common/auth/roles.ts: cannot find "const USER: readonly Permission[] = ["');
      expect(await sources(project)).toEqual(before);
    } finally {
      await writeFile(roles, original);
    }
  });

  it(
    'should scaffold modules that typecheck, pass their own tests and register their routes and permissions',
    { timeout: 600_000 },
    async () => {
      const errorsBefore = await typeErrors(project);
      const generated = await expectSuccess(shell(project, GENERATE));
      expect(generated).toContain(ACCEPT_ITS_ROUTES);
      // A name of two words: its kebab, snake, camel and Pascal spellings all differ.
      await expectSuccess(run(project, process.execPath, ['scripts/new-module.mjs', 'invoice-items']));
      const files = await sources(project);
      for (const file of ['notes/notes.module.ts', 'notes/dto/note.dto.ts', 'invoice-items/invoice-item.entity.ts']) {
        expect(files.has(join('src/modules', file)), file).toBe(true);
      }
      expect(files.get('src/common/auth/permission.ts')).toMatch(
        /'notes:read',\s+'notes:write',\s+'invoice-items:read',\s+'invoice-items:write',/,
      );
      const controller = files.get('src/modules/notes/notes.controller.ts') ?? '';
      expect(controller.match(/@Authenticated\(/g)).toHaveLength(5);
      expect(controller.match(/@Audited\('note\.(create|update|delete)'\)/g)).toHaveLength(3);

      const again = await run(project, process.execPath, ['scripts/new-module.mjs', 'notes']);
      expect(again).toEqual({ code: 1, output: expect.stringContaining('src/modules/notes already exists') });
      expect(await sources(project)).toEqual(files);

      expect((await typeErrors(project)).filter((error) => !errorsBefore.includes(error))).toEqual([]);
      // What the generator wrote or edited, as CI's lint would find it.
      const written = [
        'src/modules/notes',
        'src/modules/invoice-items',
        'test/e2e/notes.e2e-spec.ts',
        'test/e2e/invoice-items.e2e-spec.ts',
      ].join(' ');
      const edited = [
        'src/common/auth',
        'src/common/audit',
        'src/db/entities.ts',
        'src/db/migrations',
        'src/app.module.ts',
        'docs/contract.md',
      ].join(' ');
      await expectSuccess(shell(project, `npx oxlint --deny-warnings ${written}`));
      await expectSuccess(shell(project, `npx prettier --check ${written} ${edited}`));

      const reportFile = join(project, 'generated-tests.json');
      const both = `${RUN_ITS_TESTS} test/e2e/invoice-items.e2e-spec.ts`;
      await shell(project, `${both} --reporter=json --outputFile=${reportFile}`);
      const report = JSON.parse(await readFile(reportFile, 'utf8')) as VitestReport;
      const results = report.testResults.flatMap((file) => file.assertionResults);
      const failures = results.filter((test) => test.status !== 'passed');
      expect(failures.map((test) => `${test.fullName}: ${test.failureMessages.join('\n')}`)).toEqual([]);
      const counts = report.testResults.map((file) => [relative(project, file.name), file.assertionResults.length]);
      expect(counts.sort()).toEqual([
        ['test/e2e/invoice-items.e2e-spec.ts', expect.any(Number)],
        ['test/e2e/notes.e2e-spec.ts', expect.any(Number)],
      ]);
      expect(Math.min(...counts.map(([, count]) => Number(count)))).toBeGreaterThan(20);
      expect(report.numPassedTests).toBe(report.numTotalTests);

      await expectSuccess(shell(project, ACCEPT_ITS_ROUTES));
      const snapshot = await readFile(join(project, 'test/e2e/__snapshots__/route-policy.txt'), 'utf8');
      for (const [name, one] of [
        ['notes', 'note'],
        ['invoice-items', 'invoice-item'],
      ] as const) {
        const routes = snapshot.split('\n').filter((line) => line.includes(`/api/v1/${name}`));
        // Method, path, rate limit, audit action, access.
        expect(routes.map((line) => line.replace(/\s+/g, ' '))).toEqual([
          `DELETE /api/v1/${name}/:id default ${one}.delete authenticated: ${name}:write`,
          `GET /api/v1/${name} default — authenticated: ${name}:read`,
          `GET /api/v1/${name}/:id default — authenticated: ${name}:read`,
          `PATCH /api/v1/${name}/:id default ${one}.update authenticated: ${name}:write`,
          `POST /api/v1/${name} default ${one}.create authenticated: ${name}:write`,
        ]);
      }

      // The specs that check what the generator edited: the role table of docs/contract.md (and
      // the policy tests that read it), the migration list, and the module map.
      await expectSuccess(
        shell(
          project,
          'npm test -- test/docs/contract.spec.ts src/modules/resources/resource-policy.spec.ts src/db/migrations/migrations-index.spec.ts',
        ),
      );
    },
  );
});

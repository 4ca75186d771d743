import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * How an example block of the docs is proven to work. Every ```bash block carries one, as
 * `<!-- example: <kind> [argument] -->` on the line before it:
 * - `quick-start`: its first command starts the server (run-doc-examples.ts runs it as
 *   written); every other command is in .ci/run;
 * - `ci`: every command is in .ci/run, as written;
 * - `cli`: run-doc-examples.ts runs it on a fresh embedded database, before the server starts;
 * - `with-server`: run-doc-examples.ts runs it against the quick-start server, with curl
 *   failing on any HTTP error;
 * - `test <file>`: every command is in that test file, which runs it;
 * - `compose`: `docker compose` commands, which need a Docker engine CI does not have: .ci/run
 *   validates the file they use (`docker-compose config`).
 */
export type ExampleKind = 'quick-start' | 'ci' | 'cli' | 'with-server' | 'test' | 'compose';

export interface Example {
  /** Where it is, as `file:line` of its opening fence. */
  where: string;
  kind: ExampleKind | undefined;
  argument: string | undefined;
  /** The block as written. */
  script: string;
  /** One entry per command: continuation lines joined, comments dropped. */
  commands: string[];
}

const ANNOTATION = /^<!-- example: ([\w-]+)(?: (\S+))? -->$/;
const KINDS = new Set<string>(['quick-start', 'ci', 'cli', 'with-server', 'test', 'compose']);

/** README.md, SECURITY.md and everything under docs/: what a forker reads. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name));
  return [join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md'), ...docs];
}

export function commandsOf(script: string): string[] {
  return script
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.replace(/(^|\s+)#(\s.*)?$/, '').trim())
    .filter(Boolean);
}

export function examplesIn(file: string): Example[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```bash' && lines[i]?.trim() !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    const script = lines.slice(i + 1, end).join('\n');
    const annotation = ANNOTATION.exec(lines[i - 1]?.trim() ?? '');
    const kind = annotation?.[1];
    examples.push({
      where: `${relative(ROOT, file)}:${i + 1}`,
      kind: kind && KINDS.has(kind) ? (kind as ExampleKind) : undefined,
      argument: annotation?.[2],
      script,
      commands: commandsOf(script),
    });
    i = end;
  }
  return examples;
}

export function allExamples(): Example[] {
  return documentationFiles().flatMap(examplesIn);
}

/**
 * What is wrong with the examples before anything runs: a block that says nothing of how it
 * is proven, and commands said to be run by CI or a test that are not there as written.
 */
export function exampleProblems(examples: Example[]): string[] {
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
  const problems: string[] = [];
  for (const example of examples) {
    const { where, kind, commands } = example;
    if (!kind) {
      problems.push(`${where}: no <!-- example: <kind> --> before the block`);
      continue;
    }
    const inCi = kind === 'ci' ? commands : kind === 'quick-start' ? commands.slice(1) : [];
    for (const command of inCi)
      if (!ci.includes(command)) problems.push(`${where}: .ci/run does not run \`${command}\``);
    if (kind === 'test') {
      const source = example.argument ? readFileSync(join(ROOT, example.argument), 'utf8') : '';
      for (const command of commands) {
        if (!source.includes(command)) problems.push(`${where}: ${example.argument} does not run \`${command}\``);
      }
    }
    if (kind === 'compose') {
      for (const command of commands) {
        if (!command.startsWith('docker compose ')) problems.push(`${where}: not a docker compose command: ${command}`);
      }
      if (!ci.includes('docker-compose config')) problems.push(`${where}: .ci/run does not validate the compose file`);
    }
  }
  if (examples.filter((example) => example.kind === 'quick-start').length !== 1) {
    problems.push('exactly one block must be the quick start');
  }
  return [...problems, ...inlineCommandProblems(examples, ci)];
}

/** A command in running text: `npm run build`, `source scripts/ensure-node.sh`. */
const INLINE_COMMAND = /`((?:npm|npx|node|bash|curl|docker|apt-get|source) [^`]+)`/g;
/** CI runs this file; it is the one command nothing else has to run. */
const THE_CI_SCRIPT = 'bash .ci/run';

/** Every test and script file, whose text may run a command a document names. */
function runnerSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ts|mjs)$/.test(name))
    .map((name) => readFileSync(join(dir, name), 'utf8'));
}

/**
 * Commands named in running text must be run somewhere too: by .ci/run, by smoke.mjs, by a
 * test, or as part of an example that runs. A `<placeholder>` matches whatever CI puts there.
 */
function inlineCommandProblems(examples: Example[], ci: string): string[] {
  const ran = examples
    .filter(({ kind }) => kind === 'cli' || kind === 'with-server' || kind === 'quick-start' || kind === 'compose')
    .flatMap(({ commands }) => commands);
  const sources = [
    ci,
    ...ran,
    readFileSync(join(ROOT, 'scripts', 'smoke.mjs'), 'utf8'),
    ...runnerSources(join(ROOT, 'test')),
  ];
  const problems: string[] = [];
  for (const file of documentationFiles()) {
    for (const [, command = ''] of readFileSync(file, 'utf8').matchAll(INLINE_COMMAND)) {
      const runnable = command.split('<')[0]?.trim() ?? '';
      if (command === THE_CI_SCRIPT || sources.some((source) => source.includes(runnable))) continue;
      problems.push(`${relative(ROOT, file)}: nothing runs \`${command}\``);
    }
  }
  return problems;
}
